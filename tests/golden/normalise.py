"""Make a recorded exchange deterministic: what changes from run to run (ids, tokens, times, MAC addresses, request
ids, the port and host name of the test cloud, generated secrets) becomes a stable placeholder.

Ids are numbered in order of first appearance across the whole recording (<id-1>, <id-2>, ...), so that a response
naming the server created three steps earlier still says which one. Lists of ids and of objects that carry an id
are sorted first, by their content with ids already seen replaced by their placeholder, because their order is not
defined by the APIs (Neutron and Keystone list by id, a random uuid) and differs between SQLite and PostgreSQL;
every other list (links, flavors, extensions, tags, methods) keeps its order and is compared as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ID = re.compile(rf"(?<![0-9a-zA-Z]){UUID}(?![0-9a-zA-Z])|(?<![0-9a-zA-Z])[0-9a-f]{{32}}(?![0-9a-zA-Z])")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
DIGIT = re.compile(r"\d")
HTTP_DATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")
EC2_ID = re.compile(r"(?<![0-9a-zA-Z-])i-[0-9a-f]{8}(?![0-9a-zA-Z])")  # the EC2 form of an instance uuid
INSTANCE_NAME = re.compile(r"(?<![0-9a-zA-Z-])instance-[0-9a-f]{8}(?![0-9a-zA-Z])")  # Nova's name on the hypervisor
MAC = re.compile(r"(?<![0-9a-fA-F:])(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}(?![0-9a-fA-F:])")
# Headers that change with every request or are transport details no client reads.
DROPPED_HEADERS = {"date", "server", "content-length", "connection", "transfer-encoding"}
# Headers whose whole value changes on every run.
VOLATILE_HEADERS = {"x-openstack-request-id": "<request-id>", "x-compute-request-id": "<request-id>",
                    "x-subject-token": "<token>", "openstack-request-id": "<request-id>"}
# Body fields whose values are generated per run (not ids): keypairs made by the server, secrets.
VOLATILE_FIELDS = {"private_key": "<private-key>", "secret": "<secret>", "signature": "<signature>",
                   "signing_key": "<signing-key>", "id_digest": "<id-digest>"}
# Body fields holding random values that name something (a token's audit id, Nova's per-project host hash):
# numbered like ids, so that two answers naming the same one still say so.
KEYED_FIELDS = {"audit_ids": "audit", "hostId": "host-id"}
# Lists of objects without an id of their own, kept in id order by the server: the security-group rules of the
# internal API's network documents; Keystone's role inferences (by prior role id).
UNORDERED_FIELDS = {"rules", "role_inferences"}


def _named_by_id(item: Any) -> bool:
    """An id, or an object with a field that is an id: listed in an order the APIs leave undefined (by uuid)."""
    if isinstance(item, str):
        return bool(ID.fullmatch(item))
    return isinstance(item, dict) and any(isinstance(v, str) and ID.fullmatch(v) for v in item.values())


class Normaliser:
    def __init__(self) -> None:
        self.placeholders: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.literals: dict[str, str] = {}  # exact strings (base URL, host name, tokens) -> their name

    def literal(self, value: str, name: str) -> None:
        if value:
            self.literals[value] = name

    # ---- strings --------------------------------------------------------------------------

    def text(self, value: str, assign: bool = True) -> str:
        for raw, name in sorted(self.literals.items(), key=lambda item: -len(item[0])):
            value = value.replace(raw, name)
        # Times keep their shape (precision, zone suffix), only their digits go: a change of format shows.
        value = TIME.sub(lambda m: DIGIT.sub("9", m.group(0)), value)
        # The weekday and month names go too: a recording made on a Monday replays on a Tuesday.
        value = HTTP_DATE.sub("Day, 99 Mon 9999 99:99:99 GMT", value)
        value = EC2_ID.sub(lambda m: self._placeholder("ec2-id", m.group(0), assign), value)
        value = INSTANCE_NAME.sub(lambda m: self._placeholder("instance-name", m.group(0), assign), value)
        value = MAC.sub(lambda m: self._placeholder("mac", m.group(0).lower(), assign), value)
        return ID.sub(lambda m: self._placeholder("id", m.group(0).lower().replace("-", ""), assign), value)

    def _placeholder(self, kind: str, raw: str, assign: bool) -> str:
        key = f"{kind}:{raw}"
        if key not in self.placeholders:
            if not assign:
                return f"<{kind}>"
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.placeholders[key] = f"<{kind}-{self.counts[kind]}>"
        return self.placeholders[key]

    # ---- JSON -----------------------------------------------------------------------------

    def sort_key(self, item: Any) -> str:
        return json.dumps(self._walk(item, assign=False, sort=False), sort_keys=True)

    def _walk(self, value: Any, assign: bool, sort: bool) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            if sort and any(ID.fullmatch(key) for key, _ in items):  # a map keyed by ids: no defined order
                items.sort(key=lambda kv: (self.text(kv[0], assign=False), self.sort_key(kv[1])))
            return {self.text(key, assign): self._field(key, item, assign, sort) for key, item in items}
        if isinstance(value, list):
            items = list(value)
            if sort and items and all(_named_by_id(i) for i in items):
                items.sort(key=self.sort_key)
            return [self._walk(item, assign, sort) for item in items]
        if isinstance(value, str):
            return self.text(value, assign)
        return value

    def _field(self, key: str, value: Any, assign: bool, sort: bool) -> Any:
        if key in VOLATILE_FIELDS and isinstance(value, str):
            return VOLATILE_FIELDS[key]
        if key in KEYED_FIELDS and isinstance(value, str) and value:
            return self._placeholder(KEYED_FIELDS[key], value, assign)
        if key in KEYED_FIELDS and isinstance(value, list) and all(isinstance(i, str) for i in value):
            return [self._placeholder(KEYED_FIELDS[key], i, assign) for i in value]
        if key in UNORDERED_FIELDS and sort and isinstance(value, list):
            return self._walk(sorted(value, key=self.sort_key), assign, sort)
        return self._walk(value, assign, sort)

    def json(self, value: Any) -> Any:
        return self._walk(value, assign=True, sort=True)

    # ---- an exchange ----------------------------------------------------------------------

    def headers(self, headers: list[tuple[str, str]]) -> dict[str, str]:
        kept: dict[str, str] = {}
        for name, value in headers:
            name = name.lower()
            if name in DROPPED_HEADERS:
                continue
            value = VOLATILE_HEADERS.get(name) or self.text(value)
            kept[name] = f"{kept[name]}, {value}" if name in kept else value
        return dict(sorted(kept.items()))

    def body(self, content: bytes, content_type: str) -> Any:
        if not content:
            return None
        if "json" in content_type:
            try:
                return {"json": self.json(json.loads(content))}
            except ValueError:
                pass
        try:
            return {"text": self.text(content.decode())}
        except UnicodeDecodeError:
            import hashlib

            return {"bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
