"""Where an instance's files live: one directory per instance under the driver's state directory."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from andromede.compute.agent.drivers.base import DriverError

# sun_path is 108 bytes including the terminating NUL; QEMU and asyncio both refuse longer socket paths.
MAX_UNIX_SOCKET_PATH = 107
# Where QMP sockets go when the instance directory is too deep for one (e.g. a test's tmp_path). Only root may
# create entries in /run, so nobody can plant a socket or symlink there first.
LONG_PATH_SOCKET_DIR = Path("/run/andromede/qmp")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_instance_uuid(name: str) -> bool:
    return _CANONICAL_UUID.fullmatch(name) is not None


def check_instance_uuid(uuid: str) -> None:
    """The uuid becomes a directory name and a QEMU option value: only the canonical form is accepted."""
    if not is_instance_uuid(uuid):
        raise DriverError(f"invalid instance uuid {uuid!r}: expected the canonical lower-case form")


@dataclass(frozen=True)
class InstancePaths:
    directory: Path

    @classmethod
    def of(cls, state_dir: Path, uuid: str) -> InstancePaths:
        check_instance_uuid(uuid)
        return cls(state_dir / uuid)

    @property
    def uuid(self) -> str:
        return self.directory.name

    @property
    def spec(self) -> Path:
        return self.directory / "spec.json"

    @property
    def disk(self) -> Path:
        return self.directory / "disk.qcow2"

    @property
    def volumes(self) -> Path:
        """The attached volumes' block specs (no key), so they come back at every start."""
        return self.directory / "volumes.json"

    @property
    def config_drive(self) -> Path:
        return self.directory / "config.iso"

    @property
    def qmp_socket(self) -> Path:
        """In the instance directory when the path fits in a unix socket address, else under /run (see above)."""
        beside = self.directory / "qmp.sock"
        if len(str(beside).encode()) <= MAX_UNIX_SOCKET_PATH:
            return beside
        digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:32]
        return LONG_PATH_SOCKET_DIR / f"{digest}.sock"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "qemu.pid"

    @property
    def qemu_log(self) -> Path:
        """QEMU's own stderr: why it refused to start, or why it stopped."""
        return self.directory / "qemu.log"


def check_state_dir(state_dir: Path, *, is_root: bool) -> None:
    socket = InstancePaths(state_dir / ("0" * 36)).qmp_socket
    if socket.parent == LONG_PATH_SOCKET_DIR and not is_root:
        raise DriverError(
            f"state directory {state_dir} is too long: QMP socket paths under it would exceed "
            f"{MAX_UNIX_SOCKET_PATH} bytes, and only root may fall back to {LONG_PATH_SOCKET_DIR}"
        )
