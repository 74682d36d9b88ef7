"""Neutron security groups and their rules (API side); the data plane lives in network/agent/drivers."""
