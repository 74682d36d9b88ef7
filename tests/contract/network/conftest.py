"""The `harness` fixture: the conformance suite runs once per network driver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.network.harness import FakeHarness, Harness, LinuxHarness, linux_unavailable


def _linux() -> Iterator[LinuxHarness]:
    reason = linux_unavailable()
    if reason:
        pytest.skip(reason)
    made = LinuxHarness()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(params=["fake", pytest.param("linux", marks=pytest.mark.root)])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "fake":
        yield FakeHarness()
    else:
        yield from _linux()


@pytest.fixture
def linux() -> Iterator[LinuxHarness]:
    """Data-plane checks (packets, leases) that only mean something against the real driver."""
    yield from _linux()
