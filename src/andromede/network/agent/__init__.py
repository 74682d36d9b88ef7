"""The per-host network agent: reconciles tenant networks, DHCP and ports on this host through a NetworkDriver."""
