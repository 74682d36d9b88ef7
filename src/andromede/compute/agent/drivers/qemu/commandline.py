"""The QEMU command line for an instance: a pure function of its spec, its files and the host's choices."""

from __future__ import annotations

import json
import re
from typing import Literal

from andromede.compute.agent.drivers.base import DriverError, InstanceSpec
from andromede.compute.agent.drivers.qemu.layout import InstancePaths

Accel = Literal["kvm", "tcg"]

# spawn=deny also forbids fork(), so QEMU cannot -daemonize under it (measured: SIGSYS, exit 159): the driver
# detaches QEMU itself instead. elevateprivileges stays at its default, because with -runas denying it kills
# QEMU at the privilege drop.
SANDBOX = "on,obsolete=deny,spawn=deny,resourcecontrol=deny"
SMBIOS_MANUFACTURER = "OpenStack Foundation"
SMBIOS_PRODUCT = "OpenStack Nova"
_TAP_NAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_PORT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# TCG's translation cache defaults to 1 GiB and is never emptied by a guest reboot, so it outgrew the room
# cgroups.Limits leaves QEMU beside the guest's RAM (256 MiB at least): the kernel killed QEMU mid-boot, measured
# with a 256 MiB tiny guest after one Ctrl-Alt-Del. 128 MiB keeps the whole process well inside that room.
TCG_TRANSLATION_CACHE_MIB = 128
HOTPLUG_SLOTS = 4  # free PCIe root ports for interfaces and volumes attached while the VM runs


def build_argv(
    spec: InstanceSpec,
    paths: InstancePaths,
    *,
    qemu_binary: str = "qemu-system-x86_64",
    accel: Accel = "tcg",
    run_as: str | None = None,
    volumes: int = 0,
) -> list[str]:
    """`volumes`: how many attached volumes the driver plugs in over QMP before the guest runs. QEMU then starts
    paused (-S, until QMP `cont`), with a PCIe root port for each on top of the free ones."""
    uuid = spec.uuid
    argv = [
        qemu_binary,
        "-name", f"guest={uuid},process=andromede-{uuid}",
        "-uuid", uuid,
        # graphics=off makes SeaBIOS mirror its screen to the serial port: boot failures show in the console log.
        "-machine", "q35,graphics=off",
        "-accel", accel if accel == "kvm" else f"tcg,tb-size={TCG_TRANSLATION_CACHE_MIB}",
        # `host` is the only sensible CPU under KVM; under TCG, `max` offers every feature TCG emulates.
        "-cpu", "host" if accel == "kvm" else "max",
        "-m", f"{spec.memory_mib}M",
        "-smp", str(spec.vcpus),
        "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
        "-boot", "strict=on",
        "-smbios", _smbios_type1(uuid),
        *_root_disk(paths),
    ]  # fmt: skip
    if spec.config_drive is not None:
        argv += _config_drive(paths)
    argv += _pcie_slots(len(spec.nics) + volumes + HOTPLUG_SLOTS)
    for index, nic in enumerate(spec.nics):
        argv += _nic(index, nic)
    argv += [
        "-chardev", f"file,id=console,path={_option_value(str(paths.console_log))},append=on",
        "-serial", "chardev:console",
        "-qmp", f"unix:{_option_value(str(paths.qmp_socket))},server=on,wait=off",
        "-pidfile", str(paths.pid_file),
        "-sandbox", SANDBOX,
        "-msg", "timestamp=on",
    ]  # fmt: skip
    if run_as is not None:
        argv += ["-runas", run_as]
    if volumes:
        argv.append("-S")
    return argv


def _smbios_type1(uuid: str) -> str:
    fields = {"manufacturer": SMBIOS_MANUFACTURER, "product": SMBIOS_PRODUCT, "serial": uuid, "uuid": uuid}
    return "type=1," + ",".join(f"{key}={_option_value(value)}" for key, value in fields.items())


def _root_disk(paths: InstancePaths) -> list[str]:
    # JSON -blockdev: file names need no escaping. The qcow2 header names the backing file; QEMU opens it
    # read-only, so the shared base is never written.
    blockdev = {
        "driver": "qcow2",
        "node-name": "root",
        "discard": "unmap",
        "file": {"driver": "file", "filename": str(paths.disk)},
    }
    return ["-blockdev", json.dumps(blockdev), "-device", "virtio-blk-pci,drive=root,id=root-disk,bootindex=1"]


def _config_drive(paths: InstancePaths) -> list[str]:
    # A read-only virtio disk rather than a CD-ROM: no extra controller, and guests (cloud-init, the tiny guest)
    # find it by its config-2 label whatever the bus.
    blockdev = {
        "driver": "raw",
        "node-name": "config",
        "read-only": True,
        "file": {"driver": "file", "filename": str(paths.config_drive), "read-only": True},
    }
    return ["-blockdev", json.dumps(blockdev), "-device", "virtio-blk-pci,drive=config,id=config-drive"]


def slot_id(index: int) -> str:
    return f"slot{index}"


def nic_ids(nic: dict, index: int) -> tuple[str, str]:
    """(netdev id, device id): named after the port, so a restarted agent knows which NIC is which."""
    port_id = str(nic.get("port_id", ""))
    if port_id:
        if not _PORT_ID.fullmatch(port_id):
            raise DriverError(f"invalid port id {port_id!r}")
        return f"net-{port_id}", f"nic-{port_id}"
    return f"n{index}", f"nic{index}"


def _pcie_slots(count: int) -> list[str]:
    # q35 devices on the root bus cannot be unplugged: every NIC gets a PCIe root port of its own, and a few
    # stay free for NICs attached later.
    argv = []
    for index in range(count):
        argv += ["-device", f"pcie-root-port,id={slot_id(index)},chassis={index + 1},bus=pcie.0"]
    return argv


def _nic(index: int, nic: dict) -> list[str]:
    tap, mac = nic.get("tap", ""), str(nic.get("mac", "")).lower()
    if not _TAP_NAME.fullmatch(tap):
        raise DriverError(f"invalid tap device name {tap!r}")
    if not _MAC.fullmatch(mac):
        raise DriverError(f"invalid MAC address {mac!r}")
    netdev, device = nic_ids(nic, index)
    return [
        "-netdev", f"tap,id={netdev},ifname={tap},script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev={netdev},mac={mac},id={device},bus={slot_id(index)}",
    ]  # fmt: skip


def _option_value(value: str) -> str:
    """QEMU's key=value option syntax: a comma inside a value is written as two."""
    return value.replace(",", ",,")
