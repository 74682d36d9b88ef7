"""Which accelerator guests get: KVM only when it is allowed and proven to boot a machine, else TCG.

/dev/kvm is no proof. On these hosts it opens and creates VMs, yet `-cpu host` aborts on an MSR and a real guest
stops with "KVM internal error" in its bootloader (nested virtualisation). A probe that catches the last case
needs a real guest kernel, which this driver does not own; so KVM is opt-in (ANDROMEDE_ALLOW_KVM=1 or
allow_kvm=True) and, when allowed, must first boot SeaBIOS with exactly the CPU model guests get. That catches an
unopenable /dev/kvm and the MSR abort; an operator who allows KVM vouches for the rest. The verdict is cached in
the state directory, keyed by what it depends on (QEMU binary, kernel), so the probe runs once per host change.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

from andromede.compute.agent.drivers.base import DriverError
from andromede.compute.agent.drivers.qemu.commandline import Accel
from andromede.compute.agent.drivers.qemu.specfile import write_text_atomically

log = logging.getLogger(__name__)

Requested = Literal["auto", "kvm", "tcg"]
ALLOW_KVM_ENV = "ANDROMEDE_ALLOW_KVM"
VERDICT_FILE = "accelerator.json"
PROBE_TIMEOUT = 15.0
_FIRMWARE_DONE = (b"No bootable device", b"Boot failed")


def kvm_allowed_by_environment() -> bool:
    return os.environ.get(ALLOW_KVM_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def choose_accelerator(requested: Requested, *, state_dir: Path, qemu_binary: str, allow_kvm: bool) -> Accel:
    if requested == "tcg":
        return "tcg"
    if requested == "kvm":
        return "kvm"  # the operator insists; QEMU's own error tells if it cannot
    if requested != "auto":
        raise DriverError(f"unknown accelerator {requested!r}: expected auto, kvm or tcg")
    if not allow_kvm:
        return "tcg"
    verdict_path = state_dir / VERDICT_FILE
    circumstances = _circumstances(qemu_binary)
    cached = _read_verdict(verdict_path)
    if cached is not None and cached.get("circumstances") == circumstances:
        return cached["accelerator"]
    works, reason = probe_kvm(qemu_binary)
    accelerator: Accel = "kvm" if works else "tcg"
    log.info("accelerator: %s (%s)", accelerator, reason)
    document = {"accelerator": accelerator, "reason": reason, "circumstances": circumstances, "at": time.time()}
    write_text_atomically(verdict_path, json.dumps(document, indent=1))
    return accelerator


def probe_kvm(
    qemu_binary: str, *, timeout: float = PROBE_TIMEOUT, kvm_device: Path = Path("/dev/kvm")
) -> tuple[bool, str]:
    """Boot SeaBIOS under KVM (no disk) and wait for it to give up booting; (works, why)."""
    try:
        os.close(os.open(kvm_device, os.O_RDWR | os.O_CLOEXEC))
    except OSError as exc:
        return False, f"{kvm_device}: {exc.strerror}"
    with tempfile.TemporaryDirectory(prefix="andromede-kvm-probe-") as scratch:
        serial, stderr_path = Path(scratch) / "serial.log", Path(scratch) / "stderr.log"
        argv = [
            qemu_binary, "-accel", "kvm", "-cpu", "host", "-machine", "q35,graphics=off", "-m", "64",
            "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-boot", "strict=on",
            "-no-reboot", "-serial", f"file:{serial}",
        ]  # fmt: skip
        with stderr_path.open("wb") as stderr:
            try:
                process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
            except FileNotFoundError:
                return False, f"{qemu_binary} not found"
            try:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if serial.exists() and any(marker in serial.read_bytes() for marker in _FIRMWARE_DONE):
                        return True, "KVM allowed and SeaBIOS boots under -accel kvm -cpu host"
                    if process.poll() is not None:
                        error = stderr_path.read_text(errors="replace").strip().splitlines()
                        return False, f"QEMU exited with {process.returncode}: {' / '.join(error[-2:])}"
                    time.sleep(0.1)
                return False, f"SeaBIOS did not finish within {timeout:.0f} s under KVM"
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=10)


def _circumstances(qemu_binary: str) -> dict[str, object]:
    resolved = shutil.which(qemu_binary) or qemu_binary
    try:
        mtime = os.stat(resolved).st_mtime
    except OSError:
        mtime = None
    return {"qemu": resolved, "qemu_mtime": mtime, "kernel": os.uname().release}


def _read_verdict(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return document if document.get("accelerator") in ("kvm", "tcg") else None
