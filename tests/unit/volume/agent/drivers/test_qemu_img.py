"""The file driver's qemu-img command lines, and how run() hands keys over (a pipe) and types failures."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from andromede.agentlib.errors import PermanentError
from andromede.volume.agent.drivers import qemu_img
from andromede.volume.agent.drivers.base import PermanentVolumeError, VolumeDriverError, VolumeNotFound, WrongKey
from andromede.volume.agent.drivers.qemu_img import SecretObject

KEY = bytes(range(64))
VOLUME = Path("/var/lib/andromede/volumes/0b7c5c1e-5f46-4a53-9d1b-7f6f5e2f0a11.qcow2")


def test_an_encrypted_volume_is_created_as_qcow2_with_luks_aes_xts_plain64_and_the_key_from_a_secret() -> None:
    argv = qemu_img.create_argv("qemu-img", VOLUME, 10, secret_id="dst", iter_time_ms=100)

    assert argv == [
        "qemu-img", "create", "-q", "-f", "qcow2", "--object", SecretObject("dst"),
        "-o", "encrypt.format=luks,encrypt.key-secret=dst,encrypt.cipher-alg=aes-256,encrypt.cipher-mode=xts,"
              "encrypt.ivgen-alg=plain64,encrypt.hash-alg=sha256,encrypt.iter-time=100",
        str(VOLUME), "10G",
    ]
    assert qemu_img.render(argv, {"dst": 7})[6] == "secret,id=dst,file=/dev/fd/7,format=raw"


def test_a_plain_volume_has_no_secret_and_no_encryption_options() -> None:
    assert qemu_img.create_argv("qemu-img", VOLUME, 1, secret_id=None) == [
        "qemu-img", "create", "-q", "-f", "qcow2", str(VOLUME), "1G"]


def test_image_opts_name_the_driver_and_escape_commas() -> None:
    assert qemu_img.image_opts(Path("/d/a,b.img"), driver="raw") == (
        "driver=raw,file.driver=file,file.filename=/d/a,,b.img")
    assert qemu_img.image_opts(VOLUME, secret_id="src") == (
        f"driver=qcow2,file.driver=file,file.filename={VOLUME},encrypt.key-secret=src")


def test_a_copy_from_a_snapshot_reads_with_one_key_and_writes_with_another() -> None:
    source = qemu_img.image_opts(VOLUME, secret_id="src")
    argv = qemu_img.convert_argv("qemu-img", source, Path("/v/new.tmp"), source_secret="src", target_secret="dst",
                                 snapshot="9e1f", iter_time_ms=100)

    assert argv[:10] == ["qemu-img", "convert", "-q", "--object", SecretObject("src"), "--object", SecretObject("dst"),
                         "--image-opts", source, "-l"]
    assert argv[10:13] == ["snapshot.name=9e1f", "-O", "qcow2"]
    assert argv[13] == "-o" and argv[14].startswith("encrypt.format=luks,encrypt.key-secret=dst,")
    assert argv[-1] == "/v/new.tmp"


def test_a_copy_into_a_plain_volume_has_no_target_secret() -> None:
    argv = qemu_img.convert_argv("qemu-img", "driver=raw,file.filename=/i", Path("/v/t"), source_secret=None,
                                 target_secret=None)
    assert argv == ["qemu-img", "convert", "-q", "--image-opts", "driver=raw,file.filename=/i", "-O", "qcow2", "/v/t"]


def test_resize_snapshot_and_info_command_lines() -> None:
    opts = qemu_img.image_opts(VOLUME, secret_id="src")
    assert qemu_img.resize_argv("qemu-img", opts, 3, secret_id="src") == [
        "qemu-img", "resize", "-q", "--object", SecretObject("src"), "--image-opts", opts, "3G"]
    assert qemu_img.snapshot_argv("qemu-img", opts, "-c", "s1", secret_id="src") == [
        "qemu-img", "snapshot", "-q", "--object", SecretObject("src"), "-c", "s1", "--image-opts", opts]
    with pytest.raises(AssertionError):
        qemu_img.snapshot_argv("qemu-img", opts, "-a", "s1", secret_id=None)  # apply: never from the driver
    assert qemu_img.info_argv("qemu-img", VOLUME, "qcow2") == [
        "qemu-img", "info", "-U", "--output=json", "-f", "qcow2", str(VOLUME)]
    assert qemu_img.info_argv("qemu-img", Path("/images/x"), "raw", untrusted=True) == [
        "prlimit", "--as=1073741824", "--cpu=30", "--", "qemu-img", "info", "-U", "--output=json", "-f", "raw",
        "/images/x"]


def test_an_error_names_the_qemu_tool_even_under_prlimit() -> None:
    error = qemu_img.classify(["prlimit", "--as=1", "--", "qemu-img", "info", "x"], "qemu-img: boom\n")
    assert str(error) == "qemu-img info failed: qemu-img: boom"


class FakeSpawn:
    """Stands in for subprocess.run: records the command line and reads each secret's pipe as qemu-img would."""

    def __init__(self, *results: tuple[int, str, str]) -> None:
        self.results = list(results)
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self.piped: list[bytes] = []

    def __call__(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((list(args), kwargs))
        for fd in kwargs["pass_fds"]:
            assert f"file=/dev/fd/{fd}," in " ".join(args)
            self.piped.append(os.read(fd, 4096))
        returncode, stdout, stderr = self.results.pop(0)
        return subprocess.CompletedProcess(args, returncode, stdout, stderr)


def test_run_puts_the_key_on_a_pipe_and_nowhere_on_the_command_line() -> None:
    spawn = FakeSpawn((0, "ok", ""))

    output = qemu_img.run(["qemu-img", "resize", "--object", SecretObject("src"), "x"], {"src": KEY}, spawn=spawn)

    assert output == "ok"
    (argv, kwargs), = spawn.calls
    assert spawn.piped == [KEY.hex().encode()]  # the passphrase, all of it, then end of file
    for form in (KEY, KEY.hex().encode()):
        assert form not in "\0".join(argv).encode()
    assert kwargs["capture_output"] and kwargs["check"] is False and kwargs["timeout"] == qemu_img.TIMEOUT
    for fd in kwargs["pass_fds"]:
        with pytest.raises(OSError):
            os.fstat(fd)  # closed once the process is done


def test_run_retries_qemus_pbkdf_timing_glitch() -> None:
    glitch = (1, "", "qemu-img: /v/x: Unable to get accurate CPU usage\n")
    spawn = FakeSpawn(glitch, glitch, (0, "done", ""))

    assert qemu_img.run(["qemu-img", "create", "x"], {}, spawn=spawn) == "done"
    assert len(spawn.calls) == 3


@pytest.mark.parametrize(("stderr", "error"), [
    ("qemu-img: Could not open 'x': Invalid password, cannot unlock any keyslot", WrongKey),
    ("qemu-img: Could not open 'x': Parameter 'encrypt.key-secret' is required for cipher", WrongKey),
    ("qemu-img: Could not open 'x': No such file or directory", VolumeNotFound),
    ("qemu-img: Use the --shrink option to perform a shrink operation.", PermanentVolumeError),
    ("qemu-img: error while writing at byte 0: No space left on device", VolumeDriverError),
])
def test_run_types_what_went_wrong(stderr: str, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        qemu_img.run(["qemu-img", "convert", "x"], {}, spawn=FakeSpawn((1, "", stderr)))
    assert type(raised.value) is error
    assert isinstance(raised.value, PermanentError) == (error is not VolumeDriverError)


def test_a_tool_that_hangs_or_is_missing_is_a_temporary_error() -> None:
    def hangs(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(args, kwargs["timeout"])

    def missing(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(args[0])

    for spawn in (hangs, missing):
        with pytest.raises(VolumeDriverError) as raised:
            qemu_img.run(["qemu-img", "info", "x"], {"k": KEY}, spawn=spawn)
        assert not isinstance(raised.value, PermanentError)
