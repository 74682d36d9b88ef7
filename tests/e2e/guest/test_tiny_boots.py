"""The tiny guest boots from its own disk under QEMU and configures itself as a cloud image would.

One VM at a time, 256 MiB, TCG unless ANDROMEDE_QEMU_ACCEL says otherwise (a /dev/kvm can exist and still
fail at the first instruction, as on the project's machines). The image is built once into the persistent
cache (`andromede.guest.default_cache_dir()`), so only the first run on a machine pays for the build.
User networking is `restrict=on`: the guest reaches nothing but the forwards set up here.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from andromede.guest import build_tiny_image, default_cache_dir
from andromede.guest.build import HOST_PACKAGES
from tests.support.server import free_port

pytestmark = pytest.mark.vm

QEMU = "qemu-system-x86_64"
BUILD_TOOLS = ("apt-get", "dpkg", "mkfs.fat", "syslinux", "mcopy")
READY_TIMEOUT_S = 120
READY = re.compile(r"andromede-tiny: ready hostname=(?P<hostname>\S+) ip=(?P<ip>\S+) uptime=(?P<uptime>[\d.]+)")
HOSTKEY = re.compile(r"andromede-tiny: ssh hostkey (?P<key>ssh-ed25519 \S+)")
METADATA_STUB = Path(__file__).with_name("metadata_stub.py")
TLS_STUB = Path(__file__).with_name("tls_stub.py")
METADATA_IP = "169.254.169.254"
USER_DATA = b"#!/bin/sh\necho hello-from-user-data\n"


def unavailable(reason: str) -> None:
    if os.environ.get("CI") and os.geteuid() == 0:
        pytest.fail(f"the tiny guest should be buildable and bootable in CI as root: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tiny_image() -> Path:
    missing = [tool for tool in (QEMU, *BUILD_TOOLS) if shutil.which(tool) is None]
    if missing:
        unavailable(f"missing {', '.join(missing)} (Debian packages: qemu-system-x86 {' '.join(HOST_PACKAGES)})")
    started = time.monotonic()
    image = build_tiny_image(default_cache_dir())
    print(f"\ntiny image {image} ({image.stat().st_size} bytes) ready in {time.monotonic() - started:.1f} s")
    return image


@dataclass
class SshKey:
    private: Path
    public: str


@pytest.fixture()
def ssh_key(tmp_path: Path) -> SshKey:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "id_ed25519"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return SshKey(private, public.decode() + " tinytest@andromede")


def meta_data(public_key: str, hostname: str = "tinytest") -> dict[str, object]:
    return {"uuid": "0b4e5f3c-7f0e-4c43-9a57-6cbd0c9a8f11", "hostname": hostname, "name": hostname,
            "public_keys": {"tinytest": public_key + "\n"}, "launch_index": 0, "availability_zone": "nova"}


def self_signed_certificate(directory: Path, ip: str) -> tuple[Path, Path]:
    """(certificate, key) PEM files for a server at `ip`, trusted by nobody but whoever is handed the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def make_config_drive(path: Path, meta: dict[str, object], user_data: bytes | None) -> Path:
    """An OpenStack config drive: ISO 9660 labelled config-2, Rock Ridge names, openstack/latest/..."""
    pycdlib = pytest.importorskip("pycdlib")
    files = {"meta_data.json": json.dumps(meta).encode()}
    if user_data is not None:
        files["user_data"] = user_data
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, rock_ridge="1.09", joliet=3, vol_ident="config-2")
    for directory in ("/openstack", "/openstack/latest"):
        iso.add_directory(directory.upper(), rr_name=directory.rsplit("/", 1)[1], joliet_path=directory)
    for name, data in files.items():
        iso.add_fp(io.BytesIO(data), len(data), f"/OPENSTACK/LATEST/{name.upper()};1", rr_name=name,
                   joliet_path=f"/openstack/latest/{name}")
    iso.write(str(path))
    iso.close()
    return path


def make_vfat_config_drive(path: Path, meta: dict[str, object]) -> Path:
    """The other format Nova can write (config_drive_format=vfat): a FAT file system labelled config-2."""
    source = path.with_suffix(".json")
    source.write_text(json.dumps(meta))
    for args in (["mkfs.fat", "-C", "-n", "config-2", str(path), "4096"],
                 ["mmd", "-i", str(path), "::/openstack", "::/openstack/latest"],
                 ["mcopy", "-i", str(path), str(source), "::/openstack/latest/meta_data.json"]):
        subprocess.run(args, capture_output=True, timeout=60, check=True)
    return path


@dataclass
class Vm:
    process: subprocess.Popen[bytes]
    console: Path
    qmp: Path
    qemu_output: Path
    started: float
    ssh_port: int | None = None

    def log(self) -> str:
        return self.console.read_text(errors="replace").replace("\r", "") if self.console.exists() else ""

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.log())
            if found:
                return found
            if self.process.poll() is not None:
                pytest.fail(f"QEMU exited ({self.process.returncode}) before {pattern.pattern!r}:\n{self.tail()}\n"
                            f"QEMU said: {self.qemu_output.read_text(errors='replace')}")
            time.sleep(0.1)
        pytest.fail(f"no {pattern.pattern!r} on the console after {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def qmp_command(self, command: str) -> dict[str, object]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.qmp))
            stream = sock.makefile("rw")
            json.loads(stream.readline())  # greeting
            for message in ({"execute": "qmp_capabilities"}, {"execute": command}):
                stream.write(json.dumps(message) + "\n")
                stream.flush()
                while "return" not in (reply := json.loads(stream.readline())) and "error" not in reply:
                    pass  # asynchronous events
            return reply


@contextmanager
def running_vm(image: Path, workdir: Path, *, machine: str = "q35", config_drive: Path | None = None,
               drive_bus: str = "cdrom", network: bool = True, netdev_options: str = "") -> Iterator[Vm]:
    """Boot `image` from its own disk (snapshot=on: the cached file is never written), with a virtio NIC on
    restricted user networking and the guest's port 22 forwarded from 127.0.0.1 unless network is False.
    A config drive on the "cdrom" bus is an IDE CD-ROM on `pc`, an AHCI (SATA) one on `q35`."""
    console, qmp = workdir / "console.log", workdir / "qmp.sock"
    accel = os.environ.get("ANDROMEDE_QEMU_ACCEL", "tcg")
    args = [QEMU, "-machine", machine, "-accel", accel, "-cpu", "host" if accel == "kvm" else "max", "-m", "256",
            "-smp", "1", "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", f"file:{console}", "-qmp", f"unix:{qmp},server=on,wait=off",
            "-drive", f"file={image},format=raw,if=virtio,snapshot=on"]
    if config_drive is not None:
        medium = "media=cdrom,if=ide" if drive_bus == "cdrom" else "format=raw,if=virtio"
        args += ["-drive", f"file={config_drive},{medium},readonly=on"]
    ssh_port = None
    if network:
        ssh_port = free_port()
        options = f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{ssh_port}-:22{netdev_options}"
        args += ["-netdev", options, "-device", "virtio-net-pci,netdev=net0"]
    qemu_output = workdir / "qemu.out"
    with qemu_output.open("wb") as out:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    vm = Vm(process, console, qmp, qemu_output, time.monotonic(), ssh_port)
    try:
        yield vm
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def ssh(vm: Vm, key: SshKey, known_hosts: Path, user: str, command: str) -> subprocess.CompletedProcess[str]:
    assert vm.ssh_port is not None
    args = ["ssh", "-F", "/dev/null", "-p", str(vm.ssh_port), "-i", str(key.private), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "ConnectTimeout=30", f"{user}@127.0.0.1", command]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_boots_from_sata_config_drive_runs_user_data_and_serves_ssh(
        tiny_image: Path, tmp_path: Path, ssh_key: SshKey, record_property: pytest.RecordProperty) -> None:
    if shutil.which("ssh") is None:
        unavailable("no ssh client on this host (Debian package openssh-client)")
    drive = make_config_drive(tmp_path / "config.iso", meta_data(ssh_key.public), USER_DATA)
    with running_vm(tiny_image, tmp_path, config_drive=drive) as vm:
        ready = vm.wait_for(READY, READY_TIMEOUT_S)
        wall = time.monotonic() - vm.started
        record_property("ready_wall_s", round(wall, 2))
        record_property("ready_guest_uptime_s", ready["uptime"])
        print(f"\ntiny ready after {wall:.1f} s wall, guest uptime {ready['uptime']} s")
        log = vm.log()
        assert "andromede-tiny: booting" in log
        assert "andromede-tiny: metadata source=config-drive" in log
        assert ready["hostname"] == "tinytest"
        assert ready["ip"] == "10.0.2.15"
        assert "\nhello-from-user-data\n" in log
        assert "andromede-tiny: user-data exit=0" in log
        assert log.index("hello-from-user-data") < log.index("andromede-tiny: user-data exit=0") < ready.start()

        hostkey = HOSTKEY.search(log)
        assert hostkey is not None
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{vm.ssh_port} {hostkey['key']}\n")
        done = ssh(vm, ssh_key, known_hosts, "tiny", "id -un; hostname; cat ~/.ssh/authorized_keys")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[:2] == ["tiny", "tinytest"]
        assert ssh_key.public in done.stdout
        uptime = ssh(vm, ssh_key, known_hosts, "root", "cut -d ' ' -f 1 /proc/uptime")
        assert uptime.returncode == 0, uptime.stderr
        assert float(uptime.stdout) >= float(ready["uptime"])  # the same boot, not a restarted VM

        vm.qmp_command("system_powerdown")
        assert vm.process.wait(timeout=60) == 0
        assert "andromede-tiny: shutting down" in vm.log()


def test_vfat_config_drive_on_virtio_without_network_on_i440fx(tiny_image: Path, tmp_path: Path,
                                                               ssh_key: SshKey) -> None:
    drive = make_vfat_config_drive(tmp_path / "config.img", meta_data(ssh_key.public, "tiny-virtio"))
    with running_vm(tiny_image, tmp_path, machine="pc", config_drive=drive, drive_bus="virtio",
                    network=False) as vm:
        ready = vm.wait_for(READY, READY_TIMEOUT_S)
        log = vm.log()
        assert "andromede-tiny: dhcp: no network interface" in log
        assert "andromede-tiny: metadata source=config-drive" in log
        assert "andromede-tiny: user-data none" in log
        assert (ready["hostname"], ready["ip"]) == ("tiny-virtio", "none")


def test_metadata_service_when_there_is_no_config_drive_and_cirros_tools_over_ssh(
        tiny_image: Path, tmp_path: Path, ssh_key: SshKey) -> None:
    """169.254.169.254:80 (and :443, behind TLS) is answered by a local process QEMU starts per connection
    (guestfwd cmd:). Over SSH, the tiny user has what test scripts expect of CirrOS: curl with TLS,
    passwordless sudo, ip and ping."""
    if shutil.which("ssh") is None:
        unavailable("no ssh client on this host (Debian package openssh-client)")
    root = tmp_path / "metadata"
    (root / "openstack/latest").mkdir(parents=True)
    (root / "latest/meta-data").mkdir(parents=True)
    meta = {"uuid": "1d0c", "name": "From MDS.example", "public_keys": {"k": ssh_key.public + "\n"}}
    (root / "openstack/latest/meta_data.json").write_text(json.dumps(meta))
    (root / "openstack/latest/user_data").write_bytes(b"#!/bin/sh\necho from-the-metadata-service\nexit 3\n")
    (root / "latest/meta-data/instance-id").write_text("i-0000tiny")
    cert, key = self_signed_certificate(tmp_path, METADATA_IP)
    (root / "ca.pem").write_bytes(cert.read_bytes())
    forward = (f",net=169.254.0.0/16,guestfwd=tcp:{METADATA_IP}:80-cmd:{sys.executable} {METADATA_STUB} {root}"
               f",guestfwd=tcp:{METADATA_IP}:443-cmd:{sys.executable} {TLS_STUB} {cert} {key} {root}")
    if " " in f"{sys.executable}{METADATA_STUB}{TLS_STUB}{root}":
        pytest.skip("guestfwd cmd: splits on spaces")
    with running_vm(tiny_image, tmp_path, machine="pc", netdev_options=forward) as vm:
        ready = vm.wait_for(READY, READY_TIMEOUT_S)
        log = vm.log()
        assert "andromede-tiny: metadata source=metadata-service" in log
        assert "\nfrom-the-metadata-service\n" in log
        assert "andromede-tiny: user-data exit=3" in log
        assert "andromede-tiny: ssh keys=1" in log
        assert ready["hostname"] == "From-MDS"  # the name's first label, made hostname-safe

        hostkey = HOSTKEY.search(log)
        assert hostkey is not None
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{vm.ssh_port} {hostkey['key']}\n")
        script = ("curl -sS http://169.254.169.254/latest/meta-data/instance-id; echo; sudo -n id -u; "
                  "ip -4 addr show eth0; ping -c 1 -W 5 169.254.2.2 >/dev/null && echo ping-ok; "
                  "sudo -n ping -c 1 -W 5 169.254.2.2 >/dev/null && echo root-ping-ok; "
                  "curl -V | head -n 1; "
                  "curl -sS -o /tmp/ca.pem http://169.254.169.254/ca.pem; "
                  "echo https-$(curl -sS --cacert /tmp/ca.pem https://169.254.169.254/latest/meta-data/instance-id); "
                  "curl -sS https://169.254.169.254/latest/meta-data/instance-id 2>&1; echo default-ca-exit=$?")
        done = ssh(vm, ssh_key, known_hosts, "tiny", script)
        lines = done.stdout.splitlines()
        assert lines[:2] == ["i-0000tiny", "0"], done.stdout + done.stderr
        assert "inet 169.254.2.15/16" in done.stdout  # QEMU's DHCP in the net= above; its gateway is .2.2
        assert "ping-ok" in lines and "root-ping-ok" in lines, done.stdout + done.stderr
        assert any(line.startswith("curl ") and "OpenSSL/" in line for line in lines)
        # A verified TLS request, and without --cacert libcurl loads Debian's bundle and rightly refuses the
        # self-signed server (60); a missing or unreadable bundle would be 77.
        assert "https-i-0000tiny" in lines, done.stdout + done.stderr
        assert lines[-1] == "default-ca-exit=60", done.stdout
