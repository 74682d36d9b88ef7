"""The `harness` fixture: the conformance suite runs once per storage driver (the file driver where qemu-img is)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.contract.volume.harness import Harness, make_fake_harness, make_file_harness


@pytest.fixture(params=["fake", "file"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "fake":
        made: Harness = make_fake_harness()
    else:
        missing = [tool for tool in ("qemu-img", "qemu-io") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"{' and '.join(missing)} not installed (Debian package qemu-utils)")
        made = make_file_harness()
    yield made
    made.close()
