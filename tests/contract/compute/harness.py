"""One harness per hypervisor driver: the conformance suite asks it what it cannot ask the driver itself."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pycdlib

from andromede.compute.agent.drivers.base import ConfigDrive, HypervisorDriver, InstanceSpec, VolumeAttachment
from andromede.compute.agent.drivers.fake import FakeDriver
from andromede.compute.agent.drivers.qemu import QemuDriver, procfs
from andromede.compute.agent.drivers.qemu.layout import InstancePaths
from andromede.volume.agent.drivers.file import FileDriver

GUEST_MEMORY_MIB = 128
UNPLUG_TIMEOUT = 2.0  # a guest that does not release a disk is told apart from one that does in this long


def short_temp_dir(prefix: str) -> Path:
    # Not pytest's tmp_path: QMP sockets live under the state directory and unix socket paths max out at 107 bytes.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def sample_config_drive(instance_uuid: str, hostname: str) -> ConfigDrive:
    meta_data = {
        "uuid": instance_uuid,
        "hostname": hostname,
        "name": hostname,
        "availability_zone": "nova",
        "launch_index": 0,
        "project_id": "0123456789abcdef0123456789abcdef",
        "public_keys": {"demo": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtJXNBQe+/hWBwC1aucd3m0WFkOgb2jn2V+mlBy60IO"},
        "keys": [{"name": "demo", "type": "ssh", "data": "ssh-ed25519 AAAA"}],
        "meta": {},
    }
    return ConfigDrive(meta_data=meta_data, user_data=b"#!/bin/sh\necho hello\n")


@dataclass
class Harness:
    name: str
    state_dir: Path
    base_image: Path
    base_format: str
    driver: HypervisorDriver
    stop_timeout: float  # what stop() may wait for the guest: the blank test disk never answers ACPI
    accelerators: frozenset[str]
    created: list[str] = field(default_factory=list)
    scribbles: dict[str, int] = field(default_factory=dict)  # the fake's "disk contents": its generation
    volume_keys: dict[str, bytes] = field(default_factory=dict)  # the agent's key source: what the key route says

    def spec(self, *, config_drive: bool = False, **overrides: object) -> InstanceSpec:
        instance_uuid = str(uuidlib.uuid4())
        self.created.append(instance_uuid)
        spec = InstanceSpec(
            uuid=instance_uuid,
            hostname=f"vm-{instance_uuid[:8]}",
            vcpus=1,
            memory_mib=GUEST_MEMORY_MIB,
            root_gib=1,
            base_image=self.base_image,
            base_format=self.base_format,  # type: ignore[arg-type]
            config_drive=sample_config_drive(instance_uuid, f"vm-{instance_uuid[:8]}") if config_drive else None,
        )
        return replace(spec, **overrides)  # type: ignore[arg-type]

    def running(self, **overrides: object) -> InstanceSpec:
        spec = self.spec(**overrides)
        self.driver.ensure_defined(spec)
        self.driver.start(spec.uuid)
        return spec

    def new_driver(self) -> HypervisorDriver:
        raise NotImplementedError

    def volume(self, *, encrypted: bool = True) -> VolumeAttachment:
        """A new volume, ready to attach (its key known to the key source when it is encrypted)."""
        volume_id = str(uuidlib.uuid4())
        key = os.urandom(64) if encrypted else None
        if key is not None:
            self.volume_keys[volume_id] = key
        return VolumeAttachment(volume_id, self.block_spec(volume_id, key), key)

    def block_spec(self, volume_id: str, key: bytes | None) -> dict:
        raise NotImplementedError

    def refuse_unplug(self, instance_uuid: str) -> None:
        """Make the guest keep hold of its disks: the next detach finds it unwilling."""
        raise NotImplementedError

    def drop_driver(self) -> None:
        """Lose every reference to the driver object, as a crashed agent would."""
        self.driver = None  # type: ignore[assignment]
        gc.collect()

    def process_alive(self, pid: int, instance_uuid: str) -> bool:
        raise NotImplementedError

    def kill_behind_back(self, instance_uuid: str) -> None:
        raise NotImplementedError

    def traces(self, instance_uuid: str) -> list[Path]:
        raise NotImplementedError

    def config_drive_label(self, instance_uuid: str) -> str | None:
        raise NotImplementedError

    def scribble(self, instance_uuid: str) -> None:
        """Write on the (stopped) instance's root disk, as its guest would."""
        raise NotImplementedError

    def scribbled(self, instance_uuid: str) -> bool:
        """Whether what scribble wrote is still on the root disk."""
        raise NotImplementedError

    def root_disk_base(self, instance_uuid: str) -> Path:
        """The image the root disk was made from."""
        raise NotImplementedError

    def close(self) -> None:
        shutil.rmtree(self.state_dir, ignore_errors=True)


class FakeHarness(Harness):
    def new_driver(self) -> FakeDriver:
        return FakeDriver(self.state_dir, volume_keys=self.volume_keys.get)

    def block_spec(self, volume_id: str, key: bytes | None) -> dict:
        spec: dict = {"driver": "qcow2", "node-name": "volume",
                      "file": {"driver": "file", "filename": f"/nowhere/{volume_id}.qcow2"}, "backing": None}
        if key is not None:
            spec["encrypt"] = {"format": "luks", "key-secret": "key"}
        return spec

    def refuse_unplug(self, instance_uuid: str) -> None:
        assert isinstance(self.driver, FakeDriver)
        self.driver.inject_fault("detach_volume", "the guest did not release the volume", uuid=instance_uuid)

    def process_alive(self, pid: int, instance_uuid: str) -> bool:
        # The fake's "process" lives in its state file; a fresh reader is the outside view.
        return FakeDriver(self.state_dir).state(instance_uuid).pid == pid

    def kill_behind_back(self, instance_uuid: str) -> None:
        assert isinstance(self.driver, FakeDriver)
        self.driver.simulate_crash(instance_uuid)

    def traces(self, instance_uuid: str) -> list[Path]:
        return [path for path in self.state_dir.iterdir() if instance_uuid in path.name]

    def config_drive_label(self, instance_uuid: str) -> str | None:
        assert isinstance(self.driver, FakeDriver)
        return "config-2" if self.driver.config_drive_of(instance_uuid) is not None else None

    def scribble(self, instance_uuid: str) -> None:
        assert isinstance(self.driver, FakeDriver)
        self.scribbles[instance_uuid] = self.driver.root_disk(instance_uuid)[1]

    def scribbled(self, instance_uuid: str) -> bool:
        assert isinstance(self.driver, FakeDriver)
        return self.scribbles.get(instance_uuid) == self.driver.root_disk(instance_uuid)[1]

    def root_disk_base(self, instance_uuid: str) -> Path:
        assert isinstance(self.driver, FakeDriver)
        return self.driver.root_disk(instance_uuid)[0]


class QemuHarness(Harness):
    def new_driver(self) -> QemuDriver:
        return QemuDriver(self.state_dir, accel="tcg", volume_keys=self.volume_keys.get,
                          unplug_timeout=UNPLUG_TIMEOUT)

    @property
    def storage(self) -> FileDriver:
        return FileDriver(self.state_dir / "volumes", iter_time_ms=10)

    def block_spec(self, volume_id: str, key: bytes | None) -> dict:
        self.storage.create(volume_id, 1, key=key)
        return self.storage.qemu_block_spec(volume_id, node_name="volume", secret_id="key" if key else None)

    def refuse_unplug(self, instance_uuid: str) -> None:
        pass  # the blank disk's guest is SeaBIOS, which never answers a PCIe unplug request

    def process_alive(self, pid: int, instance_uuid: str) -> bool:
        return procfs.is_instance_process(pid, instance_uuid)

    def kill_behind_back(self, instance_uuid: str) -> None:
        pid = procfs.read_pid_file(InstancePaths(self.state_dir / instance_uuid).pid_file)
        assert pid is not None and procfs.is_instance_process(pid, instance_uuid)
        os.kill(pid, signal.SIGKILL)
        assert procfs.wait_until_gone(pid, instance_uuid, 10)

    def traces(self, instance_uuid: str) -> list[Path]:
        directory = self.state_dir / instance_uuid
        return [directory] if directory.exists() else []

    def config_drive_label(self, instance_uuid: str) -> str | None:
        iso_path = InstancePaths(self.state_dir / instance_uuid).config_drive
        if not iso_path.exists():
            return None
        iso = pycdlib.PyCdlib()
        iso.open(str(iso_path))
        try:
            return iso.pvd.volume_identifier.decode().strip()
        finally:
            iso.close()

    def _disk(self, instance_uuid: str) -> str:
        return str(InstancePaths(self.state_dir / instance_uuid).disk)

    def scribble(self, instance_uuid: str) -> None:
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 4096", self._disk(instance_uuid)],
                       check=True, capture_output=True, timeout=30)

    def scribbled(self, instance_uuid: str) -> bool:
        read = subprocess.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0xab 0 4096", self._disk(instance_uuid)],
                              capture_output=True, text=True, timeout=30)
        return read.returncode == 0 and "Pattern verification failed" not in read.stdout + read.stderr

    def root_disk_base(self, instance_uuid: str) -> Path:
        info = subprocess.run(["qemu-img", "info", "--output=json", "-U", self._disk(instance_uuid)],
                              check=True, capture_output=True, text=True, timeout=30)
        return Path(json.loads(info.stdout)["backing-filename"])

    def close(self) -> None:
        """Kill whatever QEMU the test left behind, found by its state directory in the command line."""
        marker = str(self.state_dir).encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if marker in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        super().close()


def make_fake_harness() -> FakeHarness:
    state_dir = short_temp_dir("andr-fake-")
    base_image = state_dir / "base.img"  # the fake only checks that the file exists; not an instance file
    base_image.write_bytes(b"")
    harness = FakeHarness(
        name="fake",
        state_dir=state_dir,
        base_image=base_image,
        base_format="raw",
        driver=FakeDriver(state_dir),
        stop_timeout=0.0,
        accelerators=frozenset({"fake"}),
    )
    harness.driver = harness.new_driver()  # the one that knows the harness's key source
    return harness


def make_qemu_harness(base_image: Path) -> QemuHarness:
    state_dir = short_temp_dir("andr-qemu-")
    harness = QemuHarness(
        name="qemu",
        state_dir=state_dir,
        base_image=base_image,
        base_format="qcow2",
        driver=QemuDriver(state_dir, accel="tcg"),
        stop_timeout=1.0,
        accelerators=frozenset({"tcg"}),
    )
    harness.driver = harness.new_driver()
    return harness
