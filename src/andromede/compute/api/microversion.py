"""Compute microversions: the range Nova's API honours here (negotiation in servicekit/microversions.py)."""

from __future__ import annotations

from starlette.requests import Request

from andromede.servicekit.microversions import Version, VersionRange, version_text

MIN_VERSION: Version = (2, 1)
MAX_VERSION: Version = (2, 90)
VERSIONS = VersionRange(names=("compute",), minimum=MIN_VERSION, maximum=MAX_VERSION, state_key="compute_version",
                        legacy_header="X-OpenStack-Nova-API-Version")
requested_version = VERSIONS.requested


def version_of(request: Request) -> Version:
    """The microversion this request is answered at."""
    return getattr(request.state, "compute_version", MIN_VERSION)


__all__ = ["MAX_VERSION", "MIN_VERSION", "VERSIONS", "Version", "requested_version", "version_of", "version_text"]
