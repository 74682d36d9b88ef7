"""InstanceSpec ↔ JSON, so the spec survives the driver object (and the agent) that was given it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from andromede.common.files import write_atomically
from andromede.compute.agent.drivers.base import ConfigDrive, InstanceSpec

FORMAT_VERSION = 1


def spec_to_document(spec: InstanceSpec) -> dict[str, Any]:
    drive = spec.config_drive
    return {
        "format_version": FORMAT_VERSION,
        "uuid": spec.uuid,
        "hostname": spec.hostname,
        "vcpus": spec.vcpus,
        "memory_mib": spec.memory_mib,
        "root_gib": spec.root_gib,
        "base_image": str(spec.base_image),
        "base_format": spec.base_format,
        "nics": [dict(nic) for nic in spec.nics],
        "config_drive": None
        if drive is None
        else {
            "meta_data": drive.meta_data,
            "user_data": None if drive.user_data is None else base64.b64encode(drive.user_data).decode(),
            "network_data": drive.network_data,
            "vendor_data": drive.vendor_data,
        },
    }


def spec_from_document(document: dict[str, Any]) -> InstanceSpec:
    drive = document.get("config_drive")
    return InstanceSpec(
        uuid=document["uuid"],
        hostname=document["hostname"],
        vcpus=document["vcpus"],
        memory_mib=document["memory_mib"],
        root_gib=document["root_gib"],
        base_image=Path(document["base_image"]),
        base_format=document["base_format"],
        nics=tuple(document.get("nics", ())),
        config_drive=None
        if drive is None
        else ConfigDrive(
            meta_data=drive["meta_data"],
            user_data=None if drive["user_data"] is None else base64.b64decode(drive["user_data"]),
            network_data=drive["network_data"],
            vendor_data=drive["vendor_data"],
        ),
    )


def read_spec(path: Path) -> InstanceSpec:
    return spec_from_document(json.loads(path.read_text()))


def write_spec(spec: InstanceSpec, path: Path) -> bool:
    """Write the spec unless the file already says the same; True when it wrote."""
    text = json.dumps(spec_to_document(spec), indent=1, sort_keys=True)
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    write_text_atomically(path, text)
    return True


def write_text_atomically(path: Path, text: str, *, durable: bool = True) -> None:
    # 0600: the spec may carry user data.
    write_atomically(path, text, durable=durable)
