"""Cinder's microversions (`OpenStack-API-Version: volume 3.x`): 3.0 only so far (what this service honours).
Negotiated as every service does (servicekit/microversions.py)."""

from __future__ import annotations

from andromede.servicekit.microversions import Version, VersionRange, version_text

MIN_VERSION: Version = (3, 0)
MAX_VERSION: Version = (3, 0)
VERSIONS = VersionRange(names=("volume", "block-storage"), minimum=MIN_VERSION, maximum=MAX_VERSION,
                        state_key="volume_version")
text = version_text

__all__ = ["MAX_VERSION", "MIN_VERSION", "VERSIONS", "text"]
