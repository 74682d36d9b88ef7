"""One harness per storage driver: the conformance suite asks it what it cannot ask the driver itself (a guest's
writes and reads, the bytes an attacker on the host would see, the command lines the driver ran)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andromede.volume.agent.drivers import qemu_img
from andromede.volume.agent.drivers.base import VolumeDriver
from andromede.volume.agent.drivers.fake import FakeVolumeDriver
from andromede.volume.agent.drivers.file import FileDriver


def new_id() -> str:
    return str(uuidlib.uuid4())


def new_key() -> bytes:
    return os.urandom(64)


@dataclass
class Harness:
    name: str
    workdir: Path  # scratch space for images and read-backs, outside the driver's volume directory
    driver: VolumeDriver

    def write(self, volume_id: str, offset: int, data: bytes, *, key: bytes | None) -> None:
        raise NotImplementedError

    def read(self, volume_id: str, offset: int, length: int, *, key: bytes | None) -> bytes:
        raise NotImplementedError

    def stored_bytes(self, volume_id: str) -> bytes:
        """Every byte the backend holds for the volume, read from outside QEMU."""
        raise NotImplementedError

    def stored_files(self) -> list[Path]:
        """Every file the driver keeps (empty for the fake, which keeps none)."""
        return []

    def argvs(self) -> list[list[str]]:
        """The command lines of every process the driver started."""
        return []

    def raw_image(self, data: bytes, size: int) -> Path:
        path = self.workdir / f"image-{new_id()}.raw"
        with path.open("wb") as handle:
            handle.write(data)
            handle.truncate(size)
        return path

    def qcow2_image(self, size: int, *, backing: Path | None = None) -> Path:
        path = self.workdir / f"image-{new_id()}.qcow2"
        command = ["qemu-img", "create", "-q", "-f", "qcow2"]
        if backing is not None:
            command += ["-F", "raw", "-b", str(backing)]
        subprocess.run([*command, str(path), str(size)], check=True, timeout=60)
        return path

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class FakeHarness(Harness):
    @property
    def fake(self) -> FakeVolumeDriver:
        assert isinstance(self.driver, FakeVolumeDriver)
        return self.driver

    def write(self, volume_id: str, offset: int, data: bytes, *, key: bytes | None) -> None:
        self.fake.write(volume_id, offset, data, key=key)

    def read(self, volume_id: str, offset: int, length: int, *, key: bytes | None) -> bytes:
        return self.fake.read(volume_id, offset, length, key=key)

    def stored_bytes(self, volume_id: str) -> bytes:
        return self.fake.stored_bytes(volume_id)


@dataclass
class Recorder:
    """subprocess.run, remembering each command line as the process received it."""

    argvs: list[list[str]] = field(default_factory=list)

    def __call__(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.argvs.append(list(args))
        return subprocess.run(args, **kwargs)  # check=False comes in kwargs


class FileHarness(Harness):
    recorder: Recorder

    @property
    def file_driver(self) -> FileDriver:
        assert isinstance(self.driver, FileDriver)
        return self.driver

    def _opts(self, volume_id: str, key: bytes | None) -> str:
        return qemu_img.image_opts(self.file_driver.path(volume_id), secret_id="k" if key else None)

    def _tool(self, argv: qemu_img.Argv, key: bytes | None) -> str:
        # The harness's own qemu-io/qemu-img runs go through the same pipe as the driver's, recorded too.
        return qemu_img.run(argv, {"k": key} if key else {}, spawn=self.recorder)

    def write(self, volume_id: str, offset: int, data: bytes, *, key: bytes | None) -> None:
        source = self.workdir / f"write-{new_id()}"
        source.write_bytes(data)
        try:
            objects: qemu_img.Argv = ["--object", qemu_img.SecretObject("k")] if key else []
            self._tool(["qemu-io", *objects, "--image-opts", self._opts(volume_id, key),
                        "-c", f"write -q -s {source} {offset} {len(data)}"], key)
        finally:
            source.unlink()

    def read(self, volume_id: str, offset: int, length: int, *, key: bytes | None) -> bytes:
        objects: qemu_img.Argv = ["--object", qemu_img.SecretObject("k")] if key else []
        output = self._tool(["qemu-io", *objects, "--image-opts", self._opts(volume_id, key),
                             "-c", f"read -v {offset} {length}"], key)
        # qemu-io's dump: "000001f0:  41 41 ... 41  AAAA..." (16 bytes a line), then a summary line.
        data = bytearray()
        for line in output.splitlines():
            address, separator, rest = line.partition(":  ")
            if separator and len(address) >= 8 and all(c in "0123456789abcdef" for c in address):
                data += bytes.fromhex(" ".join(rest.split()[:min(16, length - len(data))]))
        return bytes(data)

    def stored_bytes(self, volume_id: str) -> bytes:
        path = self.file_driver.path(volume_id)
        return path.read_bytes() if path.exists() else b""

    def stored_files(self) -> list[Path]:
        return sorted(path for path in self.file_driver.directory.rglob("*") if path.is_file())

    def argvs(self) -> list[list[str]]:
        return list(self.recorder.argvs)


def make_fake_harness() -> FakeHarness:
    return FakeHarness(name="fake", workdir=Path(tempfile.mkdtemp(prefix="andr-vol-fake-")),
                       driver=FakeVolumeDriver())


def make_file_harness() -> FileHarness:
    workdir = Path(tempfile.mkdtemp(prefix="andr-vol-file-"))
    recorder = Recorder()
    harness = FileHarness(name="file", workdir=workdir, driver=FileDriver(workdir / "volumes", spawn=recorder))
    harness.recorder = recorder
    return harness
