"""Compute's server→agent contract: the desired state of each instance on a host, and its config drive's content.

The server builds `InstancesDocument` (compute/api/internal.py) for `GET /internal/v1/hosts/{host}/instances`; the
agent's reconciler parses it. The config drive's content is derived here from an instance's facts, so the agent
(which writes the drive) and the metadata service (which serves the same documents over HTTP) cannot disagree.
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, TypeAdapter

from andromede.contracts import Contract

DesiredPower = Literal["running", "shutoff", "deleted"]
_DESIRED_POWER: TypeAdapter[DesiredPower] = TypeAdapter(DesiredPower)


def desired_power(value: str) -> DesiredPower:
    """A stored desired power state, checked against the contract (the column is a plain string)."""
    return _DESIRED_POWER.validate_python(value)


class ImageRef(Contract):
    """The image an instance boots from; the agent fetches and verifies it before use."""

    id: str
    disk_format: str | None = None
    size: int | None = None
    os_hash_value: str | None = None


class Nic(Contract):
    """One of the instance's ports, in the order the guest sees them."""

    port_id: str
    network_id: str
    network_name: str
    mac: str
    mtu: int | None = None
    fixed_ips: tuple[str, ...] = ()


class DriveFacts(Contract):
    """What an instance's config drive and metadata documents are made of."""

    uuid: str
    name: str
    hostname: str
    project_id: str = ""
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None  # base64, as the API took it
    meta: dict[str, str] = Field(default_factory=dict)
    availability_zone: str | None = "nova"
    launch_index: int = 0


class ConfigDriveContent(Contract):
    """The documents of the OpenStack config drive (openstack/latest/...) and of the metadata service."""

    meta_data: dict
    user_data: bytes | None = None
    network_data: dict = Field(default_factory=dict)
    vendor_data: dict = Field(default_factory=dict)


def config_drive_content(facts: DriveFacts) -> ConfigDriveContent:
    """meta_data.json and user_data of an instance; network_data is filled by whoever knows the network."""
    keys = {facts.key_name: facts.key_data} if facts.key_name and facts.key_data else {}
    meta_data = {
        "uuid": facts.uuid, "name": facts.name, "hostname": facts.hostname,
        "availability_zone": facts.availability_zone, "launch_index": facts.launch_index,
        "project_id": facts.project_id, "meta": dict(facts.meta), "public_keys": keys,
        "keys": [{"name": name, "type": "ssh", "data": data} for name, data in keys.items()], "devices": [],
    }
    user_data = base64.b64decode(facts.user_data) if facts.user_data else None
    return ConfigDriveContent(meta_data=meta_data, user_data=user_data,
                              network_data={"links": [], "networks": [], "services": []})


class VolumeRef(Contract):
    """A volume to plug into the instance (one not listed comes out): the agent builds its block spec with the
    host's storage driver, and fetches the key of an encrypted one from the key route (never in this document)."""

    id: str
    encrypted: bool


class InstanceDesired(Contract):
    """One instance as its host must run it. `seq` moves with every change of its desired state."""

    uuid: str
    hostname: str
    name: str
    project_id: str = ""
    vcpus: int
    memory_mib: int
    root_gib: int
    image: ImageRef
    desired_power: DesiredPower
    reboot_seq: int = 0
    reboot_hard: bool = False
    rebuild_seq: int = 0  # moves with each rebuild: the root disk is made again from `image`
    seq: int
    config_drive: bool = False
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    meta: dict[str, str] = Field(default_factory=dict)
    availability_zone: str | None = "nova"
    launch_index: int = 0
    nics: tuple[Nic, ...] = ()
    # network_data.json of the config drive, built by the server as the metadata service serves it; sent only for
    # an instance with a config drive (None otherwise, and from servers older than this field).
    network_data: dict | None = None
    volumes: tuple[VolumeRef, ...] = ()

    def drive_facts(self) -> DriveFacts:
        return DriveFacts(uuid=self.uuid, name=self.name, hostname=self.hostname, project_id=self.project_id,
                          key_name=self.key_name, key_data=self.key_data, user_data=self.user_data, meta=self.meta,
                          availability_zone=self.availability_zone, launch_index=self.launch_index)


class InstancesDocument(Contract):
    """A host's answer: the instances whose desired state changed since the agent's generation (all if `full`)."""

    generation: int
    full: bool = False
    instances: tuple[InstanceDesired, ...] = ()
