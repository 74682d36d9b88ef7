"""What only the QEMU driver promises: privilege drop, a private writable overlay on a shared base, its files,
and (given a real guest image) ACPI power-down and in-guest reboot."""

from __future__ import annotations

import errno
import hashlib
import os
import pwd
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.base import DriverError, InstanceSpec
from andromede.compute.agent.drivers.qemu import QemuDriver, console, procfs, qmp
from andromede.compute.agent.drivers.qemu.accel import PROBE_TIMEOUT, probe_kvm
from andromede.compute.agent.drivers.qemu.cgroups import Limits, VmCgroups
from andromede.compute.agent.drivers.qemu.layout import LONG_PATH_SOCKET_DIR, InstancePaths
from andromede.compute.agent.drivers.qemu.uids import UidRange
from tests.contract.compute.harness import QemuHarness, make_qemu_harness, sample_config_drive

pytestmark = pytest.mark.vm

TINY_IMAGE_ENV = "ANDROMEDE_TEST_TINY_IMAGE_PATH"


@pytest.fixture()
def qemu(blank_base_image: Path) -> Iterator[QemuHarness]:
    made = make_qemu_harness(blank_base_image)
    yield made
    made.close()


def paths_of(qemu: QemuHarness, spec: InstanceSpec) -> InstancePaths:
    return InstancePaths(qemu.state_dir / spec.uuid)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="-runas and cgroups need the agent to run as root")


@ROOT_ONLY
def test_qemu_drops_to_a_uid_of_its_own_inside_its_sandbox(qemu: QemuHarness) -> None:
    spec = qemu.running()
    pid = qemu.driver.state(spec.uuid).pid
    assert pid is not None

    uid = procfs.process_uid(pid)
    assert uid in UidRange.from_environment() and uid != pwd.getpwnam("nobody").pw_uid
    status = Path(f"/proc/{pid}/status").read_text()
    assert status.split("Gid:")[1].split()[:2] == [str(uid), str(uid)]
    assert status.split("Groups:")[1].split("\n")[0].split() in ([], [str(uid)])
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"-sandbox" in cmdline and b"-runas" in cmdline
    assert Path(f"/proc/{pid}/comm").read_text().startswith("andromede-")  # what ps shows
    assert int(status.split("Seccomp:")[1].split()[0]) == 2  # filter mode
    # Its files are its uid's alone; the directory stays root's, so it can plant no link there.
    paths = paths_of(qemu, spec)
    for path in (paths.disk, paths.console_log):
        assert (path.stat().st_uid, path.stat().st_gid, path.stat().st_mode & 0o777) == (uid, uid, 0o600)
    assert (paths.directory.stat().st_uid, paths.directory.stat().st_mode & 0o777) == (0, 0o700)


def _as_uid(uid: int, attack: Callable[[], None]) -> int:
    """Run `attack` in a child process holding only `uid` (as an escaped QEMU would); its errno, 0 if it worked."""
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            attack()
        except OSError as exc:
            code = exc.errno or 255
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])


@ROOT_ONLY
def test_one_vm_cannot_signal_trace_or_read_another(qemu: QemuHarness) -> None:
    first, second = qemu.running(), qemu.running()
    pids = [qemu.driver.state(spec.uuid).pid for spec in (first, second)]
    assert None not in pids
    uids = [procfs.process_uid(pid) for pid in pids]  # type: ignore[arg-type]
    assert uids[0] != uids[1]
    victim, victim_disk = pids[1], paths_of(qemu, second).disk
    assert _as_uid(uids[0], lambda: os.kill(victim, 0)) == errno.EPERM  # type: ignore[arg-type]
    assert _as_uid(uids[0], lambda: os.close(os.open(f"/proc/{victim}/mem", os.O_RDONLY))) == errno.EACCES
    assert _as_uid(uids[0], lambda: os.close(os.open(victim_disk, os.O_RDONLY))) == errno.EACCES
    assert _as_uid(uids[0], lambda: os.listdir(f"/proc/{victim}/fd")) == errno.EACCES  # the disk QEMU holds open
    # A restarted agent reads the same uids back from the files; a stopped and restarted VM keeps its uid.
    qemu.drop_driver()
    qemu.driver = qemu.new_driver()
    qemu.driver.stop(first.uuid, timeout=0)
    qemu.driver.start(first.uuid)
    assert procfs.process_uid(qemu.driver.state(first.uuid).pid) == uids[0]  # type: ignore[arg-type]


@ROOT_ONLY
def test_each_vm_runs_in_a_cgroup_of_its_own_with_limits(qemu: QemuHarness) -> None:
    driver = qemu.driver
    assert isinstance(driver, QemuDriver)
    if not driver.cgroups.available:
        pytest.skip("this host offers no cgroup controller")
    spec = qemu.running()
    pid = qemu.driver.state(spec.uuid).pid
    groups = driver.cgroups.of(spec.uuid)
    assert groups
    limits = Limits.for_guest(spec.memory_mib, spec.vcpus)
    for group in groups:
        assert str(pid) in (group / "cgroup.procs").read_text().split()
        for name, value in (("memory.limit_in_bytes", limits.memory_bytes), ("memory.max", limits.memory_bytes),
                            ("pids.max", limits.pids), ("cpu.cfs_quota_us", limits.cpu_quota_us)):
            if (group / name).exists():
                assert int((group / name).read_text().split()[0]) == value
    assert limits.memory_bytes > spec.memory_mib * 1024 * 1024
    qemu.driver.destroy(spec.uuid)
    assert all(not group.exists() for group in groups)


def test_the_guest_writes_its_overlay_never_the_base(qemu: QemuHarness) -> None:
    base_digest = sha256(qemu.base_image)
    spec = qemu.running()
    paths = paths_of(qemu, spec)

    # A write through the guest's own disk device, after QEMU dropped its privileges.
    reply = qmp.execute(
        paths.qmp_socket,
        "human-monitor-command",
        {"command-line": 'qemu-io -d /machine/peripheral/root-disk/virtio-backend "write -P 0x5a 0 64k"'},
    )
    assert reply == ""
    qemu.driver.stop(spec.uuid, timeout=0)

    def pattern_at_start(image: Path) -> bool:
        check = ["qemu-io", "-r", "-f", "qcow2", "-c", "read -P 0x5a 0 64k", str(image)]
        return subprocess.run(check, capture_output=True, timeout=30, check=False).returncode == 0

    assert pattern_at_start(paths.disk)
    assert not pattern_at_start(qemu.base_image)
    assert sha256(qemu.base_image) == base_digest


def test_instance_files_are_where_the_layout_says(qemu: QemuHarness) -> None:
    spec = qemu.running(config_drive=True)
    paths = paths_of(qemu, spec)

    for path in (paths.spec, paths.disk, paths.config_drive, paths.qmp_socket, paths.console_log, paths.pid_file):
        assert path.exists(), path.name
    assert procfs.read_pid_file(paths.pid_file) == qemu.driver.state(spec.uuid).pid
    info = subprocess.run(["qemu-img", "info", "-U", str(paths.disk)], capture_output=True, text=True, timeout=30)
    assert f"backing file: {qemu.base_image}" in info.stdout


def test_a_qemu_that_cannot_start_reports_why(qemu: QemuHarness, tmp_path: Path) -> None:
    base = tmp_path / "vanishing.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True, timeout=30)
    spec = qemu.spec(base_image=base)
    qemu.driver.ensure_defined(spec)
    base.unlink()

    with pytest.raises(DriverError, match=r"QEMU failed to start:.*vanishing\.qcow2"):
        qemu.driver.start(spec.uuid)
    assert qemu.driver.state(spec.uuid).power == "shutoff"


def test_a_flavor_disk_smaller_than_the_image_is_refused(qemu: QemuHarness, tmp_path: Path) -> None:
    base = tmp_path / "big.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "3G"], check=True, timeout=30)

    with pytest.raises(DriverError, match="smaller than the image"):
        qemu.driver.ensure_defined(qemu.spec(base_image=base, root_gib=2))
    qemu.driver.ensure_defined(qemu.spec(base_image=base, root_gib=0))  # 0: the image's own size



@ROOT_ONLY
def test_stopping_from_another_cgroup_removes_the_vms_cgroups_and_socket(qemu: QemuHarness) -> None:
    """`andromede down --all` runs in a cgroup of its own, not the agent's: it finds the VM's cgroups from QEMU's."""
    driver = qemu.driver
    assert isinstance(driver, QemuDriver)
    if not driver.cgroups.available:
        pytest.skip("this host offers no cgroup controller")
    deep = QemuDriver(qemu.state_dir / ("deep" * 20), accel="tcg")  # its QMP socket goes under /run
    spec = qemu.spec()
    deep.ensure_defined(spec)
    deep.start(spec.uuid)
    groups = deep.cgroups.of(spec.uuid)
    socket = InstancePaths(deep.state_dir / spec.uuid).qmp_socket
    elsewhere = QemuDriver(deep.state_dir, accel="tcg")
    elsewhere.cgroups = VmCgroups([])  # it knows none of the agent's hierarchies

    elsewhere.stop_all(timeout=0)

    assert elsewhere.state(spec.uuid).power == "shutoff"
    assert groups and all(not group.exists() for group in groups)
    assert socket.parent == LONG_PATH_SOCKET_DIR and not socket.exists()
    deep.destroy(spec.uuid)

@pytest.mark.skipif(os.geteuid() != 0, reason="the /run fallback for long socket paths is root's")
def test_a_deep_state_directory_puts_the_qmp_socket_under_run(qemu: QemuHarness) -> None:
    deep = QemuDriver(qemu.state_dir / ("deep" * 20), accel="tcg")
    spec = qemu.spec()
    deep.ensure_defined(spec)
    deep.start(spec.uuid)
    socket = InstancePaths(deep.state_dir / spec.uuid).qmp_socket
    assert socket.parent == LONG_PATH_SOCKET_DIR and socket.exists()

    deep.reboot(spec.uuid, hard=True)
    assert QemuDriver(deep.state_dir, accel="tcg").state(spec.uuid) == deep.state(spec.uuid)
    deep.destroy(spec.uuid)

    assert not socket.exists()
    assert deep.state(spec.uuid).power == "missing"


# ---- with a real guest: the tiny image (built once into the user's cache, or the one named by the env) ----


@pytest.fixture()
def tiny_image() -> Path:
    image = os.environ.get(TINY_IMAGE_ENV)
    if image and Path(image).is_file():
        return Path(image)
    from andromede.guest import build_tiny_image, default_cache_dir

    return build_tiny_image(default_cache_dir())


def wait_for_console(qemu: QemuHarness, uuid: str, text: str, *, count: int = 1, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while qemu.driver.console_output(uuid).count(text) < count:
        assert time.monotonic() < deadline, f"no {text!r} on the console:\n{qemu.driver.console_output(uuid)}"
        time.sleep(0.2)


def test_a_real_guest_boots_reads_its_config_drive_reboots_and_powers_off(qemu: QemuHarness, tiny_image: Path) -> None:
    spec = qemu.spec(base_image=tiny_image, base_format="raw", root_gib=0, memory_mib=256)
    spec = replace(spec, config_drive=sample_config_drive(spec.uuid, "tiny-under-test"))
    qemu.driver.ensure_defined(spec)
    qemu.driver.start(spec.uuid)
    pid = qemu.driver.state(spec.uuid).pid

    wait_for_console(qemu, spec.uuid, "andromede-tiny: ready hostname=tiny-under-test")
    console = qemu.driver.console_output(spec.uuid)
    assert "metadata source=config-drive" in console and "user-data exit=0" in console

    qemu.driver.reboot(spec.uuid, hard=False)  # Ctrl-Alt-Del: the guest reboots itself
    assert qemu.driver.state(spec.uuid).pid == pid
    wait_for_console(qemu, spec.uuid, "andromede-tiny: ready", count=2)

    started = time.monotonic()
    qemu.driver.stop(spec.uuid, timeout=60)  # ACPI: the guest powers off, QEMU exits on its own
    assert time.monotonic() - started < 30
    assert "andromede-tiny: shutting down" in qemu.driver.console_output(spec.uuid, length=20)
    assert qemu.driver.state(spec.uuid).power == "shutoff"


def test_concurrent_starts_boot_one_process(qemu: QemuHarness) -> None:
    spec = qemu.spec()
    qemu.driver.ensure_defined(spec)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            qemu.driver.start(spec.uuid)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    pid = qemu.driver.state(spec.uuid).pid
    assert pid is not None
    assert instance_processes(qemu, spec.uuid) == [pid]


def test_a_chatty_console_is_cut_back_and_qemu_keeps_appending_cleanly(qemu: QemuHarness) -> None:
    spec = qemu.running()
    paths = paths_of(qemu, spec)
    with paths.console_log.open("ab") as log:  # a guest that printed 3 MiB
        log.write(b"".join(b"chatter %07d\n" % i for i in range(200_000)))

    qemu.driver.state(spec.uuid)  # the reconcile loop's poll is where the log gets cut back
    # The guest keeps printing while we look: allow what it can write in that moment, not the 3 MiB.
    assert paths.console_log.stat().st_size <= console.READ_LIMIT_BYTES + 64 * 1024
    qemu.driver.reboot(spec.uuid, hard=True)  # SeaBIOS prints its banner again

    deadline = time.monotonic() + 10
    while "SeaBIOS" not in qemu.driver.console_output(spec.uuid, length=20):
        assert time.monotonic() < deadline, "QEMU's writes after the cut never showed"
        time.sleep(0.05)
    content = paths.console_log.read_bytes()
    assert b"\0" not in content  # QEMU appends at the new end: no hole where its old offset was
    assert b"chatter 0199999\n" in content


def instance_processes(qemu: QemuHarness, uuid: str) -> list[int]:
    marker = f"{qemu.state_dir}/{uuid}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and procfs.is_alive(int(proc.name)):
            try:
                if marker in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def test_the_kvm_probe_gives_a_verdict_and_a_reason() -> None:
    started = time.monotonic()

    works, reason = probe_kvm("qemu-system-x86_64")

    assert isinstance(works, bool) and reason
    assert time.monotonic() - started < PROBE_TIMEOUT + 5
