"""Neutron L3: routers, router interfaces, external gateways and floating IPs (API side)."""
