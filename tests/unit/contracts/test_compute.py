"""Compute's server→agent contract: what the server sends parses back to the same document, an agent tolerates a
field it does not know or one an older server left out, and a document that breaks the contract is refused with a
message that names the field, as a PermanentError on the agent (the runner holds that generation)."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from andromede.agentlib.errors import PermanentError
from andromede.compute.agent.reconciler import config_drive_for, parse_instances
from andromede.contracts.compute import (
    DriveFacts,
    ImageRef,
    InstanceDesired,
    InstancesDocument,
    Nic,
    VolumeRef,
    config_drive_content,
    desired_power,
)

INSTANCE = {
    "uuid": "u1", "hostname": "vm", "name": "vm", "project_id": "p1", "vcpus": 1, "memory_mib": 256, "root_gib": 1,
    "image": {"id": "i1", "disk_format": "qcow2", "size": 10, "os_hash_value": "ab"},
    "desired_power": "running", "reboot_seq": 0, "reboot_hard": False, "rebuild_seq": 0, "seq": 3, "config_drive": True,
    "key_name": "k", "key_data": "ssh-ed25519 AAAA", "user_data": base64.b64encode(b"#!/bin/sh\n").decode(),
    "meta": {"role": "db"}, "availability_zone": "nova", "launch_index": 0,
    "nics": [{"port_id": "p", "network_id": "n", "network_name": "net", "mac": "fa:16:3e:00:00:01", "mtu": 1450,
              "fixed_ips": ["10.0.0.3"]}],
    "network_data": {"links": [{"id": "tapp", "vif_id": "p", "type": "ovs", "mtu": 1450,
                                "ethernet_mac_address": "fa:16:3e:00:00:01"}],
                     "networks": [{"id": "network0", "link": "tapp", "network_id": "n", "type": "ipv4_dhcp"}],
                     "services": []},
    "volumes": [{"id": "v1", "encrypted": True}],
}
ANSWER = {"generation": 7, "full": True, "instances": [INSTANCE]}


def test_the_wire_document_round_trips_byte_for_byte() -> None:
    parsed = InstancesDocument.model_validate(ANSWER)
    assert json.dumps(parsed.wire()) == json.dumps(ANSWER)
    assert parsed.instances[0].nics[0].fixed_ips == ("10.0.0.3",)


def test_the_server_builds_the_same_document_it_used_to_write_by_hand() -> None:
    built = InstanceDesired(
        uuid="u1", hostname="vm", name="vm", project_id="p1", vcpus=1, memory_mib=256, root_gib=1,
        image=ImageRef(id="i1", disk_format="qcow2", size=10, os_hash_value="ab"),
        desired_power=desired_power("running"), reboot_seq=0, reboot_hard=False, seq=3, config_drive=True,
        key_name="k", key_data="ssh-ed25519 AAAA", user_data=INSTANCE["user_data"], meta={"role": "db"},
        availability_zone="nova", launch_index=0,
        nics=(Nic(port_id="p", network_id="n", network_name="net", mac="fa:16:3e:00:00:01", mtu=1450,
                  fixed_ips=("10.0.0.3",)),), network_data=INSTANCE["network_data"],
        volumes=(VolumeRef(id="v1", encrypted=True),))
    assert list(built.wire()) == list(INSTANCE) and built.wire() == INSTANCE


def test_a_newer_servers_field_is_ignored_and_an_older_servers_missing_one_defaults() -> None:
    newer = {**ANSWER, "cursor": "x", "instances": [{**INSTANCE, "gpu": {"count": 1}}]}
    assert InstancesDocument.model_validate(newer).instances[0] == InstanceDesired.model_validate(INSTANCE)
    older = {key: value for key, value in INSTANCE.items()
             if key not in ("launch_index", "meta", "nics", "network_data", "volumes")}
    parsed = InstanceDesired.model_validate(older)
    assert (parsed.launch_index, parsed.meta, parsed.nics, parsed.network_data, parsed.volumes) == (
        0, {}, (), None, ())


def test_the_documents_are_immutable() -> None:
    parsed = InstanceDesired.model_validate(INSTANCE)
    with pytest.raises(ValidationError):
        parsed.seq = 4  # type: ignore[misc]


@pytest.mark.parametrize("change,field", [
    ({"desired_power": "paused"}, "instances.0.desired_power"),
    ({"vcpus": "many"}, "instances.0.vcpus"),
    ({"image": None}, "instances.0.image"),
])
def test_a_document_that_breaks_the_contract_is_a_permanent_error_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(PermanentError, match=f"instances document is invalid: {field}"):
        parse_instances({**ANSWER, "instances": [{**INSTANCE, **change}]})
    with pytest.raises(PermanentError, match="generation"):
        parse_instances({"instances": []})


def test_a_stored_power_state_outside_the_contract_is_refused_on_the_server() -> None:
    with pytest.raises(ValidationError):
        desired_power("paused")


def test_the_agents_config_drive_and_the_metadata_service_read_the_same_facts() -> None:
    doc = InstanceDesired.model_validate(INSTANCE)
    drive = config_drive_for(doc)
    content = config_drive_content(DriveFacts(uuid="u1", name="vm", hostname="vm", project_id="p1", key_name="k",
                                              key_data="ssh-ed25519 AAAA", user_data=INSTANCE["user_data"],
                                              meta={"role": "db"}))
    assert drive.meta_data == content.meta_data and drive.user_data == content.user_data == b"#!/bin/sh\n"
    assert drive.meta_data["public_keys"] == {"k": "ssh-ed25519 AAAA"}
    # network_data.json is the server's, as the metadata service serves it; an older server sends none.
    assert drive.network_data == INSTANCE["network_data"]
    older = InstanceDesired.model_validate({**INSTANCE, "network_data": None})
    assert config_drive_for(older).network_data == {"links": [], "networks": [], "services": []}
