"""Andromède: a sovereign IaaS cloud speaking the OpenStack and S3 APIs."""

__version__ = "0.1.0"
