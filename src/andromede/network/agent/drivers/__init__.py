"""Host-side network data plane: `base` (interface), `fake` (in-memory twin), `linux` (bridges, VXLAN, nft, dnsmasq)."""
