"""How an agent tells a failure worth retrying from one that retrying the same desired state cannot fix.

Every reconcile loop (compute, network, volume) shares these; the runner applies the same distinction to whole passes.
"""

from __future__ import annotations


class TemporaryError(Exception):
    """The cause may go away by itself (controller unreachable, download cut off, host short of a resource):
    try again later, with backoff."""


class PermanentError(Exception):
    """Retrying cannot succeed until the desired state changes (an image that can never be fetched or booted, a
    spec the driver refuses): report a fault and wait. The message is shown to the resource's owner."""


def is_permanent(exc: BaseException) -> bool:
    """Anything not declared permanent is retried: an unknown failure must never be given up for good."""
    return isinstance(exc, PermanentError)
