"""The `harness` fixture: the conformance suite runs once per hypervisor driver."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.compute.harness import Harness, make_fake_harness, make_qemu_harness, short_temp_dir

QEMU_BINARY = "qemu-system-x86_64"


@pytest.fixture(scope="session")
def blank_base_image() -> Iterator[Path]:
    """A bootable-by-nothing disk: the guest sits in SeaBIOS ("No bootable device"), which is all these tests need."""
    missing = [tool for tool in (QEMU_BINARY, "qemu-img") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian packages qemu-system-x86, qemu-utils)")
    directory = short_temp_dir("andr-base-")
    image = directory / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "64M"], check=True, timeout=30)
    yield image
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["fake", pytest.param("qemu", marks=pytest.mark.vm)])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "fake":
        made: Harness = make_fake_harness()
    else:
        made = make_qemu_harness(request.getfixturevalue("blank_base_image"))
    yield made
    made.close()
