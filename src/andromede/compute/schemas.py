"""Nova v2.1 wire types: request bodies (strict) and the exact response key sets clients and Tempest expect."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, StringConstraints

from andromede.identity.schemas import Name

Meta = Annotated[dict[Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)],
                      Annotated[StrictStr, StringConstraints(max_length=255)]], Field(max_length=128)]



def _ip_of_version(version: int) -> AfterValidator:
    def check(value: str) -> str:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            address = None
        if address is None or address.version != version:
            raise ValueError(f"'{value}' is not a 'ipv{version}'")
        return str(address)
    return AfterValidator(check)


AccessIPv4 = Annotated[StrictStr, _ip_of_version(4)]
AccessIPv6 = Annotated[StrictStr, _ip_of_version(6)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


class Lenient(BaseModel):
    """Nova ignores keys it does not know in several bodies; OSC sends a few of those."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


class FlavorCreate(Lenient):
    name: Name
    ram: Annotated[StrictInt, Field(ge=1, le=2**31)]
    vcpus: Annotated[StrictInt, Field(ge=1, le=4096)]
    disk: Annotated[StrictInt, Field(ge=0, le=2**31)]
    id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[\w.\- ]+$")] | None = None
    swap: Annotated[StrictInt, Field(ge=0, le=2**31)] | Literal[""] = 0
    ephemeral: Annotated[StrictInt, Field(ge=0, le=2**31)] = Field(0, alias="OS-FLV-EXT-DATA:ephemeral")
    rxtx_factor: float = 1.0
    is_public: StrictBool = Field(True, alias="os-flavor-access:is_public")
    description: Annotated[StrictStr, StringConstraints(max_length=65535)] | None = None


class FlavorCreateRequest(Strict):
    flavor: FlavorCreate


class ExtraSpecs(Strict):
    extra_specs: dict[Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)],
                      Annotated[StrictStr, StringConstraints(max_length=255)]]


class TenantRef(Strict):
    tenant: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]


class FlavorAction(Strict):
    add: TenantRef | None = Field(None, alias="addTenantAccess")
    remove: TenantRef | None = Field(None, alias="removeTenantAccess")


class KeypairCreate(Lenient):
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[\w\-. @]+$")]
    public_key: Annotated[StrictStr, StringConstraints(min_length=1, max_length=16384)] | None = None
    type: Literal["ssh", "x509"] = "ssh"
    user_id: StrictStr | None = None


class KeypairCreateRequest(Strict):
    keypair: KeypairCreate


class NetworkRef(Lenient):
    uuid: StrictStr | None = None
    port: StrictStr | None = None
    fixed_ip: StrictStr | None = None


class SecurityGroupRef(Lenient):
    name: StrictStr


class ServerCreate(Lenient):
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
    imageRef: Annotated[StrictStr, StringConstraints(max_length=1024)] = ""
    flavorRef: Annotated[StrictStr | StrictInt, Field()]
    key_name: Annotated[StrictStr, StringConstraints(max_length=255)] | None = None
    user_data: Annotated[StrictStr, StringConstraints(max_length=65535)] | None = None
    metadata: Meta = Field(default_factory=dict)
    config_drive: StrictBool | Literal["", "true", "True", "false", "False"] | None = None
    availability_zone: Annotated[StrictStr, StringConstraints(max_length=255)] | None = None
    networks: list[NetworkRef] | Literal["auto", "none"] | None = None
    security_groups: list[SecurityGroupRef] | None = None
    min_count: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    max_count: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    adminPass: StrictStr | None = None
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    block_device_mapping_v2: list[dict[str, Any]] | None = None
    personality: list[dict[str, Any]] | None = None


class ServerCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
    server: ServerCreate
    scheduler_hints: dict[str, Any] | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")
    os_scheduler_hints: dict[str, Any] | None = Field(None, alias="os:scheduler_hints")  # novaclient's spelling

    @property
    def hints(self) -> dict[str, Any]:
        return {**(self.scheduler_hints or {}), **(self.os_scheduler_hints or {})}


class ServerUpdate(Strict):
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")] \
        | None = None
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class ServerUpdateRequest(Strict):
    server: ServerUpdate


class RebootBody(Strict):
    type: Literal["SOFT", "HARD", "soft", "hard"]


class ConsoleBody(Strict):
    length: StrictInt | Annotated[StrictStr, StringConstraints(pattern=r"^-?\d+$")] | None = None


class MetadataBody(Strict):
    metadata: Meta


class MetaItemBody(Strict):
    meta: Meta


class InterfaceFixedIp(Lenient):
    ip_address: StrictStr


class InterfaceAttachment(Lenient):
    net_id: StrictStr | None = None
    port_id: StrictStr | None = None
    fixed_ips: list[InterfaceFixedIp] | None = Field(None, max_length=1)
    tag: StrictStr | None = None


class InterfaceAttachRequest(Strict):
    interfaceAttachment: InterfaceAttachment


class ServerGroupCreate(Strict):
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
    policies: Annotated[list[StrictStr], Field(min_length=1, max_length=1)] | None = None  # up to 2.63
    policy: StrictStr | None = None  # 2.64 on
    rules: dict[str, Any] | None = None  # 2.64 on


class ServerGroupCreateRequest(Strict):
    server_group: ServerGroupCreate
