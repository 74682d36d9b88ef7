"""Glance v2 wire types: the flat create body, JSON-patch operations, members; and the image view."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, StringConstraints

from andromede.common.errors import BadRequest
from andromede.identity.schemas import Name

DISK_FORMATS = ("raw", "qcow2", "iso", "vmdk")
CONTAINER_FORMATS = ("bare", "ovf", "ova", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
# Attributes the service computes; setting them is Glance's 403 "read-only".
READ_ONLY = frozenset({"status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "created_at",
                       "updated_at", "self", "file", "schema", "locations", "direct_url", "deleted", "deleted_at"})
# Attributes stored in their own columns rather than as free-form properties.
CORE = frozenset({"id", "name", "visibility", "protected", "os_hidden", "disk_format", "container_format",
                  "min_disk", "min_ram", "tags", "owner"})
PropertyKey = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
PropertyValue = Annotated[StrictStr, StringConstraints(max_length=65535)]
Tag = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/]+$")]


class ImageCreate(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    # The canonical form only, as Glance: another spelling of 128 bits would be an image no route reaches.
    id: Annotated[StrictStr, StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")] | None = None
    name: Annotated[StrictStr, StringConstraints(max_length=255)] | None = None
    visibility: Literal["public", "private", "shared", "community"] = "shared"
    protected: StrictBool = False
    os_hidden: StrictBool = False
    disk_format: Literal["raw", "qcow2", "iso", "vmdk"] | None = None
    container_format: Literal["bare", "ovf", "ova", "compressed"] | None = None
    min_disk: Annotated[StrictInt, Field(ge=0, le=2**31)] = 0
    min_ram: Annotated[StrictInt, Field(ge=0, le=2**31)] = 0
    tags: list[Tag] = Field(default_factory=list)  # how many: the tag quota (413), as in Glance
    owner: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None


class PatchOp(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    op: Literal["add", "replace", "remove"]
    path: Annotated[StrictStr, StringConstraints(min_length=2, max_length=300, pattern=r"^/[^\x00-\x1f\x7f]+$")]
    value: Any = None


def patch_from_v2_0(body: object) -> object:
    """The 2.0 patch media type names the operation by its key: `{"replace": "/name", "value": "x"}`; as Glance,
    exactly one of add, remove, replace per operation, and the same pointers as 2.1."""
    if not isinstance(body, list):
        return body  # the 2.1 validation words the refusal
    operations = []
    for raw in body:
        if not isinstance(raw, dict):
            return body
        named = [op for op in ("add", "remove", "replace") if op in raw]
        if len(named) != 1:
            raise BadRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".')
        extra = set(raw) - {named[0], "value"}
        if extra:
            raise BadRequest(f"Unexpected member in a patch operation: {sorted(extra)[0]}.")
        if named[0] != "remove" and "value" not in raw:
            raise BadRequest(f'Operation "{named[0]}" requires a member named "value".')
        operation = {"op": named[0], "path": raw[named[0]]}
        if "value" in raw:
            operation["value"] = raw["value"]
        operations.append(operation)
    return operations


class MemberCreate(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    member: Name


class MemberUpdate(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    status: Literal["pending", "accepted", "rejected"]


class ImageView(BaseModel):
    model_config = ConfigDict(extra="allow", serialize_by_alias=True)
    id: str
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    owner: str
    tags: list[str]
    created_at: str
    updated_at: str
    self: str
    file: str
    schema_: str = Field(default="/v2/schemas/image", alias="schema")


class MemberView(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)
    image_id: str
    member_id: str
    status: str
    created_at: str
    updated_at: str
    schema_: str = Field(default="/v2/schemas/member", alias="schema")
