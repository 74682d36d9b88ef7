"""Attacks a hostile tenant (or a compromised host) would try, each expected to fail with nothing changed."""
