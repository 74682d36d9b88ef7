"""qemu-img command lines for the file driver, and the one way they run: keys on inherited pipes, never argv.

A volume key reaches qemu-img as `--object secret,id=ID,file=/dev/fd/N,format=raw` where N is the read end of a
pipe the key was written to (and whose write end was closed) before the process started: nothing of the key is
in /proc/PID/cmdline, the environment or a file. QEMU's LUKS wants a UTF-8 passphrase, so a key's passphrase is
its hex form (what Cinder and Nova do with Barbican keys): 64 random bytes give a 128-character passphrase.

Each image is opened with --image-opts and an explicit driver (never a format guessed from the bytes), and option
values are escaped for QEMU's key=value syntax (a comma is doubled).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andromede.contracts.volume_keys import luks_passphrase
from andromede.volume.agent.drivers.base import PermanentVolumeError, VolumeDriverError, VolumeNotFound, WrongKey

TIMEOUT = 600.0  # a copy of a large volume takes minutes; a hung tool must not hold the agent for ever
# PBKDF2 time per key slot, in ms. The passphrase is 512 random bits, which no stretching makes stronger; the
# iteration time is paid on every open (each qemu-img call, each attach), so it is kept short.
LUKS_ITER_TIME_MS = 100
CIPHER_OPTIONS = "cipher-alg=aes-256,cipher-mode=xts,ivgen-alg=plain64,hash-alg=sha256"  # aes-xts-plain64, 512 bits
# QEMU sizes the PBKDF2 iteration count by timing a trial run in thread CPU time; on a busy host that trial can
# read 0 ms and qemu-img gives up with this message. Another try almost always measures.
_PBKDF_TIMING_GLITCH = "Unable to get accurate CPU usage"
_PBKDF_RETRIES = 3
UNTRUSTED_LIMITS = ["prlimit", f"--as={1024**3}", "--cpu=30", "--"]

Spawn = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class SecretObject:
    """An argv slot for `--object secret,...`; run() fills in the pipe it reads from."""

    secret_id: str

    def render(self, fd: int) -> str:
        return f"secret,id={self.secret_id},file=/dev/fd/{fd},format=raw"


Argv = list[str | SecretObject]


def passphrase(key: bytes) -> bytes:
    return luks_passphrase(key)


def escape(value: str) -> str:
    return value.replace(",", ",,")


def image_opts(path: Path, *, driver: str = "qcow2", secret_id: str | None = None) -> str:
    opts = f"driver={driver},file.driver=file,file.filename={escape(str(path))}"
    if secret_id is not None:
        opts += f",encrypt.key-secret={secret_id}"
    return opts


def encryption_options(secret_id: str, *, iter_time_ms: int = LUKS_ITER_TIME_MS) -> str:
    encrypt = ",".join(f"encrypt.{option}" for option in CIPHER_OPTIONS.split(","))
    return f"encrypt.format=luks,encrypt.key-secret={secret_id},{encrypt},encrypt.iter-time={iter_time_ms}"


def _objects(*secret_ids: str | None) -> Argv:
    argv: Argv = []
    for secret_id in secret_ids:
        if secret_id is not None:
            argv += ["--object", SecretObject(secret_id)]
    return argv


def create_argv(qemu_img: str, path: Path, size_gib: int, *, secret_id: str | None,
                iter_time_ms: int = LUKS_ITER_TIME_MS) -> Argv:
    argv: Argv = [qemu_img, "create", "-q", "-f", "qcow2", *_objects(secret_id)]
    if secret_id is not None:
        argv += ["-o", encryption_options(secret_id, iter_time_ms=iter_time_ms)]
    return [*argv, str(path), f"{size_gib}G"]


def convert_argv(qemu_img: str, source_opts: str, target: Path, *, source_secret: str | None,
                 target_secret: str | None, snapshot: str | None = None,
                 iter_time_ms: int = LUKS_ITER_TIME_MS) -> Argv:
    """Copy the source (an --image-opts string) into a new qcow2 at `target`, encrypted under target_secret."""
    argv: Argv = [qemu_img, "convert", "-q", *_objects(source_secret, target_secret), "--image-opts", source_opts]
    if snapshot is not None:
        argv += ["-l", f"snapshot.name={escape(snapshot)}"]
    argv += ["-O", "qcow2"]
    if target_secret is not None:
        argv += ["-o", encryption_options(target_secret, iter_time_ms=iter_time_ms)]
    return [*argv, str(target)]


def resize_argv(qemu_img: str, opts: str, size_gib: int, *, secret_id: str | None) -> Argv:
    return [qemu_img, "resize", "-q", *_objects(secret_id), "--image-opts", opts, f"{size_gib}G"]


def snapshot_argv(qemu_img: str, opts: str, action: str, name: str, *, secret_id: str | None) -> Argv:
    """action: -c (create) or -d (delete)."""
    assert action in ("-c", "-d")
    return [qemu_img, "snapshot", "-q", *_objects(secret_id), action, name, "--image-opts", opts]


def info_argv(qemu_img: str, path: Path, image_format: str, *, untrusted: bool = False) -> Argv:
    """-U: an attached volume is locked by its QEMU; reading the header needs no lock and no key. An untrusted
    image's header is read under memory and CPU limits (a crafted header can make qemu-img allocate or loop),
    as Nova does."""
    argv: Argv = [qemu_img, "info", "-U", "--output=json", "-f", image_format, str(path)]
    return [*UNTRUSTED_LIMITS, *argv] if untrusted else argv


def render(argv: Sequence[str | SecretObject], fds: Mapping[str, int]) -> list[str]:
    return [part.render(fds[part.secret_id]) if isinstance(part, SecretObject) else part for part in argv]


def run(argv: Argv, secrets: Mapping[str, bytes], *, spawn: Spawn = subprocess.run, timeout: float = TIMEOUT) -> str:
    """Run `argv` with each secret (id → key) readable on a pipe; its stdout, or a typed error."""
    for attempt in range(_PBKDF_RETRIES):
        result = _run_once(argv, secrets, spawn=spawn, timeout=timeout)
        if result.returncode == 0:
            return result.stdout
        if _PBKDF_TIMING_GLITCH not in result.stderr or attempt == _PBKDF_RETRIES - 1:
            raise classify(argv, result.stderr)
    raise AssertionError("unreachable")


def _run_once(argv: Argv, secrets: Mapping[str, bytes], *, spawn: Spawn,
              timeout: float) -> subprocess.CompletedProcess[str]:
    fds: dict[str, int] = {}
    try:
        for secret_id, key in secrets.items():
            read_end, write_end = os.pipe()
            fds[secret_id] = read_end
            try:
                os.write(write_end, passphrase(key))  # far below a pipe's 64 KiB: never blocks
            finally:
                os.close(write_end)
        command = render(argv, fds)
        try:
            return spawn(command, pass_fds=tuple(fds.values()), capture_output=True, text=True, timeout=timeout,
                         check=False)
        except subprocess.TimeoutExpired as exc:
            raise VolumeDriverError(f"{command[0]} {command[1]} timed out after {timeout:.0f} s") from exc
        except FileNotFoundError as exc:
            raise VolumeDriverError(f"{command[0]} is not installed (Debian package qemu-utils)") from exc
    finally:
        for fd in fds.values():
            os.close(fd)


def classify(argv: Sequence[Any], stderr: str) -> VolumeDriverError:
    message = stderr.strip().splitlines()[-1] if stderr.strip() else "failed"
    tool = next((i for i, arg in enumerate(argv[:-1]) if os.path.basename(str(arg)).startswith("qemu")), 0)
    what = f"{os.path.basename(str(argv[tool]))} {argv[tool + 1]}"
    if "Invalid password, cannot unlock any keyslot" in stderr:
        return WrongKey(f"{what}: the key does not open the volume")
    if "key-secret' is required" in stderr:
        return WrongKey(f"{what}: the volume is encrypted and no key was given")
    if "No such file or directory" in stderr:
        return VolumeNotFound(f"{what}: {message}")
    if "snapshot" in what and "Could not find snapshot" in stderr:
        return VolumeNotFound(f"{what}: {message}")
    if "Use the --shrink option" in stderr:
        return PermanentVolumeError(f"{what}: a volume cannot shrink")
    return VolumeDriverError(f"{what} failed: {message}")
