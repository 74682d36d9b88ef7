from __future__ import annotations

import json
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.base import ConfigDrive, DriverError, InstanceSpec
from andromede.compute.agent.drivers.qemu.commandline import build_argv
from andromede.compute.agent.drivers.qemu.layout import LONG_PATH_SOCKET_DIR, InstancePaths, check_state_dir

UUID = "7f1c2a3b-0000-4000-8000-00000000abcd"
PATHS = InstancePaths(Path("/var/lib/andromede/instances") / UUID)


def make_spec(**overrides: object) -> InstanceSpec:
    fields: dict = {
        "uuid": UUID,
        "hostname": "web-1",
        "vcpus": 2,
        "memory_mib": 256,
        "root_gib": 1,
        "base_image": Path("/var/lib/andromede/images/tiny.raw"),
        "base_format": "raw",
    }
    return InstanceSpec(**{**fields, **overrides})


def option(argv: list[str], flag: str) -> list[str]:
    """Every value given to `flag`."""
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_machine_cpu_and_memory_follow_the_spec_and_accelerator() -> None:
    argv = build_argv(make_spec(), PATHS, accel="tcg")

    assert argv[0] == "qemu-system-x86_64"
    assert option(argv, "-machine") == ["q35,graphics=off"]
    assert option(argv, "-accel") == ["tcg,tb-size=128"]  # inside the cgroup's room for QEMU, reboot after reboot
    assert option(argv, "-cpu") == ["max"]
    assert option(argv, "-m") == ["256M"]
    assert option(argv, "-smp") == ["2"]
    assert option(build_argv(make_spec(), PATHS, accel="kvm"), "-cpu") == ["host"]
    assert option(build_argv(make_spec(), PATHS, accel="kvm"), "-accel") == ["kvm"]


def test_no_default_devices_no_display_and_strict_boot() -> None:
    argv = build_argv(make_spec(), PATHS)

    for flag in ("-nodefaults", "-no-user-config"):
        assert flag in argv
    assert option(argv, "-display") == ["none"]
    assert option(argv, "-vga") == ["none"]
    assert option(argv, "-boot") == ["strict=on"]


def test_identity_name_uuid_and_smbios_like_nova() -> None:
    argv = build_argv(make_spec(), PATHS)

    assert option(argv, "-name") == [f"guest={UUID},process=andromede-{UUID}"]
    assert option(argv, "-uuid") == [UUID]
    assert option(argv, "-smbios") == [
        f"type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial={UUID},uuid={UUID}"
    ]


def test_root_disk_is_the_qcow2_overlay_on_virtio_and_the_only_boot_device() -> None:
    argv = build_argv(make_spec(), PATHS)

    root = json.loads(option(argv, "-blockdev")[0])
    assert root == {
        "driver": "qcow2",
        "node-name": "root",
        "discard": "unmap",
        "file": {"driver": "file", "filename": str(PATHS.disk)},
    }
    assert option(argv, "-device")[0] == "virtio-blk-pci,drive=root,id=root-disk,bootindex=1"
    assert "-kernel" not in argv  # the guest boots with its own bootloader


def test_config_drive_is_a_read_only_raw_virtio_disk_only_when_asked() -> None:
    assert len(option(build_argv(make_spec(), PATHS), "-blockdev")) == 1

    argv = build_argv(make_spec(config_drive=ConfigDrive(meta_data={})), PATHS)

    config = json.loads(option(argv, "-blockdev")[1])
    assert config["driver"] == "raw" and config["read-only"] is True
    assert config["file"] == {"driver": "file", "filename": str(PATHS.config_drive), "read-only": True}
    assert "virtio-blk-pci,drive=config,id=config-drive" in option(argv, "-device")


def test_console_monitor_and_pid_file_live_in_the_instance_directory() -> None:
    argv = build_argv(make_spec(), PATHS)

    assert option(argv, "-chardev") == [f"file,id=console,path={PATHS.console_log},append=on"]
    assert option(argv, "-serial") == ["chardev:console"]
    assert option(argv, "-qmp") == [f"unix:{PATHS.qmp_socket},server=on,wait=off"]
    assert option(argv, "-pidfile") == [str(PATHS.pid_file)]


def test_sandboxed_without_daemonize_or_no_shutdown() -> None:
    argv = build_argv(make_spec(), PATHS)

    assert option(argv, "-sandbox") == ["on,obsolete=deny,spawn=deny,resourcecontrol=deny"]
    # -daemonize forks after seccomp is installed (spawn=deny kills it); -no-shutdown would keep a powered-off
    # guest's process alive instead of letting the instance become shutoff.
    assert "-daemonize" not in argv and "-no-shutdown" not in argv and "-no-reboot" not in argv


def test_runas_only_when_given() -> None:
    assert "-runas" not in build_argv(make_spec(), PATHS, run_as=None)
    assert option(build_argv(make_spec(), PATHS, run_as="nobody"), "-runas") == ["nobody"]


def test_each_nic_is_a_tap_netdev_and_a_virtio_net_device() -> None:
    nics = ({"tap": "tap0a1b2c3d-4e", "mac": "fa:16:3e:00:00:01"}, {"tap": "tap99", "mac": "FA:16:3E:00:00:02"})

    argv = build_argv(make_spec(nics=nics), PATHS)

    assert option(argv, "-netdev") == [
        "tap,id=n0,ifname=tap0a1b2c3d-4e,script=no,downscript=no",
        "tap,id=n1,ifname=tap99,script=no,downscript=no",
    ]
    assert option(argv, "-device")[-2:] == [
        "virtio-net-pci,netdev=n0,mac=fa:16:3e:00:00:01,id=nic0,bus=slot0",
        "virtio-net-pci,netdev=n1,mac=fa:16:3e:00:00:02,id=nic1,bus=slot1",
    ]
    # Each NIC sits on a PCIe root port of its own (hot-unpluggable), and four more stay free.
    slots = [d for d in option(argv, "-device") if d.startswith("pcie-root-port")]
    assert len(slots) == 2 + 4 and slots[0] == "pcie-root-port,id=slot0,chassis=1,bus=pcie.0"


def test_nics_named_after_their_port_are_found_again_by_id() -> None:
    port = "0a1b2c3d-0000-4000-8000-000000000001"
    argv = build_argv(make_spec(nics=({"tap": "tap0a1b2c3d-00", "mac": "fa:16:3e:00:00:01", "port_id": port},)),
                      PATHS)
    assert option(argv, "-netdev") == [f"tap,id=net-{port},ifname=tap0a1b2c3d-00,script=no,downscript=no"]
    assert option(argv, "-device")[-1] == (f"virtio-net-pci,netdev=net-{port},mac=fa:16:3e:00:00:01,id=nic-{port},"
                                           "bus=slot0")
    with pytest.raises(DriverError):
        build_argv(make_spec(nics=({"tap": "tap0", "mac": "fa:16:3e:00:00:01", "port_id": "x,id=evil"},)), PATHS)


def test_no_nics_means_no_network_device_at_all() -> None:
    argv = build_argv(make_spec(), PATHS)

    assert "-netdev" not in argv and "-nic" not in argv and "-net" not in argv
    assert not any("virtio-net" in device for device in option(argv, "-device"))


@pytest.mark.parametrize(
    "nic",
    [
        {"tap": "tap,script=/evil", "mac": "fa:16:3e:00:00:01"},
        {"tap": "a-name-longer-than-15", "mac": "fa:16:3e:00:00:01"},
        {"tap": "tap0", "mac": "fa:16:3e:00:00:01,id=x"},
        {"mac": "fa:16:3e:00:00:01"},
    ],
)
def test_nic_values_cannot_smuggle_options(nic: dict) -> None:
    with pytest.raises(DriverError):
        build_argv(make_spec(nics=(nic,)), PATHS)


def test_commas_in_paths_are_escaped_in_key_value_options() -> None:
    paths = InstancePaths(Path("/srv/a,b") / UUID)

    argv = build_argv(make_spec(), paths)

    assert option(argv, "-chardev") == [f"file,id=console,path=/srv/a,,b/{UUID}/console.log,append=on"]
    assert option(argv, "-qmp") == [f"unix:/srv/a,,b/{UUID}/qmp.sock,server=on,wait=off"]
    assert json.loads(option(argv, "-blockdev")[0])["file"]["filename"] == f"/srv/a,b/{UUID}/disk.qcow2"


def test_the_same_spec_always_gives_the_same_command_line() -> None:
    assert build_argv(make_spec(), PATHS) == build_argv(make_spec(), PATHS)


def test_a_qmp_socket_too_long_for_its_directory_moves_under_run() -> None:
    short = InstancePaths(Path("/var/lib/andromede/instances") / UUID)
    deep = InstancePaths(Path("/" + "d" * 80) / UUID)

    assert short.qmp_socket == short.directory / "qmp.sock"
    assert deep.qmp_socket.parent == LONG_PATH_SOCKET_DIR
    assert deep.qmp_socket == InstancePaths(Path("/" + "d" * 80) / UUID).qmp_socket  # stable: adoption finds it
    assert deep.qmp_socket != InstancePaths(Path("/" + "e" * 80) / UUID).qmp_socket


def test_only_root_may_use_the_long_path_fallback() -> None:
    check_state_dir(Path("/" + "d" * 80), is_root=True)
    check_state_dir(Path("/var/lib/andromede/instances"), is_root=False)
    with pytest.raises(DriverError, match="too long"):
        check_state_dir(Path("/" + "d" * 80), is_root=False)


def test_attached_volumes_start_qemu_paused_with_a_root_port_each() -> None:
    plain = build_argv(make_spec(), PATHS)
    with_volumes = build_argv(make_spec(), PATHS, volumes=3)

    def slots(argv: list[str]) -> int:
        return sum(device.startswith("pcie-root-port") for device in option(argv, "-device"))

    assert "-S" not in plain and "-S" in with_volumes
    assert slots(with_volumes) == slots(plain) + 3
