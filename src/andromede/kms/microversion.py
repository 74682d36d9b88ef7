"""Barbican's microversions (`OpenStack-API-Version: key-manager 1.1`): 1.0 when none is asked, 1.1 adds
`consumers` to secrets. Negotiated as every service does (servicekit/microversions.py)."""

from __future__ import annotations

from andromede.servicekit.microversions import Version, VersionRange, version_text

MIN_VERSION: Version = (1, 0)
MAX_VERSION: Version = (1, 1)
VERSIONS = VersionRange(names=("key-manager",), minimum=MIN_VERSION, maximum=MAX_VERSION, state_key="kms_version")
text = version_text

__all__ = ["MAX_VERSION", "MIN_VERSION", "VERSIONS", "text"]
