"""The metadata tree: a path under /metadata → a document, computed from one instance's facts. Pure functions.

Two trees, as Nova serves them: OpenStack's (/openstack/<version>/meta_data.json ...) and EC2's
(/<version>/meta-data/..., /<version>/user-data). Unknown paths are None (the app answers 404).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Nova's OpenStack metadata versions, oldest first; each adds documents (see _OPENSTACK_FILES).
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06",
                      "2017-02-22", "2018-08-27")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
                "2008-09-01", "2009-04-04")
# document → the first version that has it
_OPENSTACK_FILES = {
    "meta_data.json": "2012-08-10",
    "user_data": "2012-08-10",
    "password": "2013-04-04",
    "vendor_data.json": "2013-10-17",
    "network_data.json": "2015-10-15",
    "vendor_data2.json": "2016-10-06",
}

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str = TEXT


@dataclass(frozen=True)
class InstanceFacts:
    """Everything the tree shows about one instance (built by the app from the instance row and the hooks)."""

    meta_data: dict  # meta_data.json, the config drive's document
    user_data: bytes | None
    network_data: dict
    ec2_instance_id: str
    ami_id: str
    hostname: str
    instance_type: str
    reservation_id: str
    fixed_ipv4: str | None = None
    floating_ipv4: str | None = None
    security_groups: tuple[str, ...] = ("default",)
    vendor_data: dict = field(default_factory=dict)
    password: str = ""  # what the guest posted to openstack/<version>/password, encrypted by it


def is_password_path(path: str) -> bool:
    """openstack/<version>/password, at a version that has it: the one document a guest may write (POST)."""
    parts = [part for part in path.split("/") if part]
    return (len(parts) == 3 and parts[0] == "openstack" and parts[2] == "password"
            and (parts[1] == "latest" or parts[1] in OPENSTACK_VERSIONS) and _supports(parts[1], "password"))


def ec2_id(prefix: str, uuid: str) -> str:
    """Nova's `i-%08x` / `ami-%08x` shape, from the first 32 bits of the UUID (stable, no extra table)."""
    return f"{prefix}-{int(uuid.replace('-', '')[:8] or '0', 16):08x}"


def _listing(names: list[str] | tuple[str, ...]) -> Answer:
    return Answer("\n".join(names).encode())


def _json(document: dict) -> Answer:
    return Answer(json.dumps(document).encode(), JSON)


def resolve(path: str, facts: InstanceFacts) -> Answer | None:
    """The answer for `path` (relative to /metadata, with or without its leading slash), or None for 404."""
    parts = [part for part in path.split("/") if part]
    if not parts:
        return _listing([*EC2_VERSIONS, "latest"])
    if parts[0] == "openstack":
        return _openstack(parts[1:], facts)
    if parts[0] in EC2_VERSIONS or parts[0] == "latest":
        return _ec2(parts[1:], facts)
    return None


# ---- OpenStack ----


def _supports(version: str, document: str) -> bool:
    first = _OPENSTACK_FILES.get(document)
    return first is not None and (version == "latest" or version >= first)


def _openstack(parts: list[str], facts: InstanceFacts) -> Answer | None:
    if not parts:
        return _listing([*OPENSTACK_VERSIONS, "latest"])
    version, rest = parts[0], parts[1:]
    if version != "latest" and version not in OPENSTACK_VERSIONS:
        return None
    if not rest:
        return _listing([name for name in _OPENSTACK_FILES if _supports(version, name)
                         and (name != "user_data" or facts.user_data is not None)])
    if len(rest) != 1 or not _supports(version, rest[0]):
        return None
    name = rest[0]
    if name == "meta_data.json":
        return _json(facts.meta_data)
    if name == "user_data":
        return None if facts.user_data is None else Answer(facts.user_data, BINARY)
    if name == "password":
        return Answer(facts.password.encode())  # what the guest posted, encrypted with the owner's key
    if name == "network_data.json":
        return _json(facts.network_data)
    if name == "vendor_data.json":
        return _json(facts.vendor_data)
    return _json({})  # vendor_data2.json: no dynamic vendor data sources


# ---- EC2 ----


def _ec2_meta_data(facts: InstanceFacts) -> dict:
    """The EC2 meta-data tree: a str is a leaf, a dict a directory (listed with a trailing slash)."""
    keys = facts.meta_data.get("public_keys") or {}
    public_keys = {f"{index}={name}": {"openssh-key": data} for index, (name, data) in enumerate(sorted(keys.items()))}
    return {
        "ami-id": facts.ami_id,
        "ami-launch-index": str(facts.meta_data.get("launch_index", 0)),
        "ami-manifest-path": "FIXME",  # Nova's literal value
        "hostname": facts.hostname,
        "instance-action": "none",
        "instance-id": facts.ec2_instance_id,
        "instance-type": facts.instance_type,
        "local-hostname": facts.hostname,
        "local-ipv4": facts.fixed_ipv4 or "",
        "placement": {"availability-zone": str(facts.meta_data.get("availability_zone", "nova"))},
        "public-hostname": facts.hostname,
        "public-ipv4": facts.floating_ipv4 or "",
        **({"public-keys": public_keys} if public_keys else {}),
        "reservation-id": facts.reservation_id,
        "security-groups": "\n".join(facts.security_groups),
    }


def _ec2(parts: list[str], facts: InstanceFacts) -> Answer | None:
    if not parts:
        return _listing(["meta-data/", *(["user-data"] if facts.user_data is not None else [])])
    if parts == ["user-data"]:
        return None if facts.user_data is None else Answer(facts.user_data, BINARY)
    if parts[0] != "meta-data":
        return None
    node: dict | str = _ec2_meta_data(facts)
    for part in parts[1:]:
        if not isinstance(node, dict):
            return None
        # public-keys/ lists "0=name"; public-keys/0/ is that key's directory.
        found = node.get(part)
        if found is None:
            found = next((value for key, value in node.items() if "=" in key and key.split("=", 1)[0] == part), None)
        if found is None:
            return None
        node = found
    if isinstance(node, dict):
        return _listing([f"{key}/" if isinstance(value, dict) and "=" not in key else key
                         for key, value in node.items()])
    return Answer(node.encode())  # a leaf, with or without a trailing slash, as Nova answers
