"""The metadata service (Nova's): what a guest learns about itself at http://169.254.169.254/.

Mounted at /metadata in the one ASGI app. Guests never reach it directly: a proxy in their network's DHCP
namespace hands each request to the host's network agent (the relay), which names the instance by the port
that owns the caller's address and signs that name (HMAC-SHA256 with the installation's metadata secret).

The signing scheme the relay and this service share is a contract: `andromede.contracts.metadata`.
"""
