"""Nova v2.1 wire types: request bodies (strict) and the exact response key sets clients and Tempest expect."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    with_config,
)
from typing_extensions import TypedDict  # pydantic wants it rather than typing.TypedDict before Python 3.12

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


# Nova's server tag: 1 to 60 characters, neither "/" nor "," (both would break the tags filters and paths).
Tag = Annotated[StrictStr, StringConstraints(min_length=1, max_length=60, pattern=r"^[^,/]*$")]
MAX_TAGS = 50
ServerName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
Description = Annotated[StrictStr, StringConstraints(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
# 2.90's hostname: a DNS label (Nova's own schema; 2.94 would allow FQDNs).
Hostname = Annotated[StrictStr, StringConstraints(min_length=1, max_length=63,
                                                  pattern=r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$")]


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
    return_reservation_id: StrictBool | Literal["True", "true", "False", "false"] = False
    adminPass: StrictStr | None = None
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    block_device_mapping_v2: list[dict[str, Any]] | None = None
    personality: list[dict[str, Any]] | None = None
    # Fields of later microversions; compute/api/servers.py refuses each below the version that brings it.
    description: Description | None = None  # 2.19
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None  # 2.52
    hostname: Hostname | None = None  # 2.90


class ServerCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
    server: ServerCreate
    scheduler_hints: dict[str, Any] | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")
    os_scheduler_hints: dict[str, Any] | None = Field(None, alias="os:scheduler_hints")  # novaclient's spelling

    @property
    def hints(self) -> dict[str, Any]:
        return {**(self.scheduler_hints or {}), **(self.os_scheduler_hints or {})}


class ServerUpdate(Strict):
    name: ServerName | None = None
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    description: Description | None = None  # 2.19
    hostname: Hostname | None = None  # 2.90


class ServerUpdateRequest(Strict):
    server: ServerUpdate


class RebuildBody(Strict):
    """Nova's rebuild body; key_name (2.54) and user_data (2.57) are refused below their version by the route."""

    imageRef: Annotated[StrictStr, StringConstraints(min_length=1, max_length=1024)]
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")] \
        | None = None
    metadata: Meta | None = None
    adminPass: StrictStr | None = None
    accessIPv4: AccessIPv4 | None = None
    accessIPv6: AccessIPv6 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    preserve_ephemeral: StrictBool = False
    key_name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)] | None = None
    user_data: Annotated[StrictStr, StringConstraints(max_length=65535)] | None = None


class LockBody(Strict):
    locked_reason: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)] | None = None


class ResetStateBody(Strict):
    state: Literal["active", "error"]


class TagsBody(Strict):
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)]


class FlavorUpdate(Strict):
    description: Annotated[StrictStr, StringConstraints(max_length=65535)] | None


class FlavorUpdateRequest(Strict):
    flavor: FlavorUpdate


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


# ---- views: the response documents, keys in the order clients have always received them --------------------------

def _absent(value: object) -> bool:
    return value is None


def omitted(alias: str | None = None) -> Any:
    """A key the document leaves out entirely (rather than showing null) until a value is given."""
    return Field(None, alias=alias, exclude_if=_absent)


class View(BaseModel):
    """A response document, built from trusted rows with model_construct (compute/views.py). Routes return it
    inside their envelope dict and FastAPI serialises it by alias (its default); a page envelope that is a View
    itself goes straight to JSON bytes (compute/api/common.py's json_view)."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    @classmethod
    def trusted(cls, **fields: Any) -> Self:
        """The view of values computed from our own rows, unvalidated: what model_construct does, without its
        look-up of each field's default (some 40 µs a server, doubling the time of a long /servers/detail). So
        every field must be given, by name; tests/unit/compute/test_views.py holds trusted views to
        model_validate and to model_construct."""
        return cls.trusted_from(fields)

    @classmethod
    def trusted_from(cls, fields: dict[str, Any]) -> Self:
        """trusted, taking the dict itself (it becomes the view's, unchanged)."""
        names = _ALL_FIELDS.get(cls)
        if names is None:
            names = _ALL_FIELDS[cls] = set(cls.__pydantic_fields__)
        view = cls.__new__(cls)
        _set(view, "__dict__", fields)
        _set(view, "__pydantic_fields_set__", names)  # shared: a view is never changed after it is built
        _set(view, "__pydantic_extra__", None)
        _set(view, "__pydantic_private__", None)
        return view


_set = object.__setattr__
_ALL_FIELDS: dict[type[View], set[str]] = {}


# Links and references are TypedDicts: declared and checked like the views, but plain dicts at run time, as a
# server's detail holds five of them and a model instance each would cost more than the rest of the document.
@with_config(ConfigDict(strict=True, extra="forbid"))
class Link(TypedDict):
    rel: str
    href: str


@with_config(ConfigDict(strict=True, extra="forbid"))
class Ref(TypedDict):
    id: str
    links: list[Link]


class FlavorSummaryView(View):
    id: str
    name: str
    links: list[Link]


class FlavorView(View):
    id: str
    name: str
    ram: int
    vcpus: int
    disk: int
    swap: int | str  # "" for none, as Nova shows it
    ephemeral: int = Field(alias="OS-FLV-EXT-DATA:ephemeral")
    disabled: bool = Field(alias="OS-FLV-DISABLED:disabled")
    is_public: bool = Field(alias="os-flavor-access:is_public")
    rxtx_factor: float
    links: list[Link]


class KeypairSummaryView(View):
    name: str
    public_key: str
    fingerprint: str


class KeypairCreatedView(KeypairSummaryView):
    user_id: str
    private_key: str | None = omitted()  # only for a pair generated here


class KeypairView(View):
    id: int
    name: str
    public_key: str
    fingerprint: str
    user_id: str
    created_at: str | None
    updated_at: None = None
    deleted: bool = False
    deleted_at: None = None


class ServerSummaryView(View):
    id: str
    name: str
    links: list[Link]


class ServerCreatedView(View):
    id: str
    links: list[Link]
    disk_config: str = Field("MANUAL", alias="OS-DCF:diskConfig")
    admin_pass: str | None = omitted("adminPass")  # when enable_instance_password is on


class ServerView(View):
    id: str
    name: str
    status: str
    tenant_id: str
    user_id: str
    created: str | None
    updated: str | None
    hostId: str
    image: Ref
    flavor: Ref
    addresses: dict[str, list[dict[str, Any]]]
    metadata: dict[str, str]
    links: list[Link]
    accessIPv4: str = ""
    accessIPv6: str = ""
    disk_config: str = Field("MANUAL", alias="OS-DCF:diskConfig")
    key_name: str | None
    launched_at: str | None = Field(alias="OS-SRV-USG:launched_at")
    terminated_at: str | None = Field(alias="OS-SRV-USG:terminated_at")
    availability_zone: str = Field(alias="OS-EXT-AZ:availability_zone")
    task_state: str | None = Field(alias="OS-EXT-STS:task_state")
    vm_state: str = Field(alias="OS-EXT-STS:vm_state")
    power_state: int = Field(alias="OS-EXT-STS:power_state")
    volumes_attached: list[dict[str, Any]] = Field(default_factory=list, alias="os-extended-volumes:volumes_attached")
    config_drive: str  # "True" or "", as Nova shows it
    security_groups: list[dict[str, str]] | None = omitted()
    progress: int | None = omitted()
    fault: dict[str, Any] | None = omitted()


class AdminServerView(ServerView):
    """What an admin also sees: where the server runs."""

    host: str | None = Field(alias="OS-EXT-SRV-ATTR:host")
    instance_name: str = Field(alias="OS-EXT-SRV-ATTR:instance_name")
    hypervisor_hostname: str | None = Field(alias="OS-EXT-SRV-ATTR:hypervisor_hostname")


class InterfaceFixedIpView(View):
    subnet_id: str
    ip_address: str


class InterfaceAttachmentView(View):
    port_state: str
    fixed_ips: list[InterfaceFixedIpView]
    port_id: str
    net_id: str
    mac_addr: str


class FlavorAccessView(View):
    flavor_id: str
    tenant_id: str


class AbsoluteLimitsView(View):
    maxTotalInstances: int
    maxTotalCores: int
    maxTotalRAMSize: int
    maxServerMeta: int = 128
    maxImageMeta: int = 128
    maxPersonality: int = 0
    maxPersonalitySize: int = 0
    maxTotalKeypairs: int = 100
    maxServerGroups: int = 10
    maxServerGroupMembers: int = 10
    maxSecurityGroups: int = -1
    maxSecurityGroupRules: int = -1
    maxTotalFloatingIps: int = -1
    totalInstancesUsed: int
    totalCoresUsed: int
    totalRAMUsed: int
    totalSecurityGroupsUsed: int = 0
    totalFloatingIpsUsed: int = 0
    totalServerGroupsUsed: int = 0


class AbsoluteLimits257View(View):
    """2.57 on: no network proxy limits (gone at 2.36) and no personality limits (gone at 2.57)."""

    maxTotalInstances: int
    maxTotalCores: int
    maxTotalRAMSize: int
    maxServerMeta: int = 128
    maxImageMeta: int = 128
    maxTotalKeypairs: int = 100
    maxServerGroups: int = 10
    maxServerGroupMembers: int = 10
    totalInstancesUsed: int
    totalCoresUsed: int
    totalRAMUsed: int
    totalServerGroupsUsed: int = 0


class AbsoluteLimits236View(AbsoluteLimits257View):
    maxPersonality: int = 0
    maxPersonalitySize: int = 0


class LimitsView(View):
    rate: list[dict[str, Any]] = Field(default_factory=list)
    absolute: AbsoluteLimitsView | AbsoluteLimits236View | AbsoluteLimits257View


# ---- fields later microversions add: mixins combined by compute/views.py into one class per field set ------------

class KeypairType(View):
    type: str  # 2.2


class FlavorDescription(View):
    description: str | None  # 2.55


class FlavorExtraSpecs(View):
    extra_specs: dict[str, str]  # 2.61


@with_config(ConfigDict(strict=True, extra="forbid"))
class FlavorSnapshot(TypedDict):
    """2.47: the flavor a server was built with, as it was then (flavors may change or go away later)."""

    vcpus: int
    ram: int
    disk: int
    ephemeral: int
    swap: int
    original_name: str
    extra_specs: dict[str, str]


class ServerExtendedAttrs(View):
    """2.3, for admins: more of what Nova knows of a server."""

    reservation_id: str = Field(alias="OS-EXT-SRV-ATTR:reservation_id")
    launch_index: int = Field(alias="OS-EXT-SRV-ATTR:launch_index")
    hostname: str = Field(alias="OS-EXT-SRV-ATTR:hostname")
    kernel_id: str = Field(alias="OS-EXT-SRV-ATTR:kernel_id")
    ramdisk_id: str = Field(alias="OS-EXT-SRV-ATTR:ramdisk_id")
    root_device_name: str | None = Field(alias="OS-EXT-SRV-ATTR:root_device_name")
    user_data: str | None = Field(alias="OS-EXT-SRV-ATTR:user_data")


class ServerHostStatus(View):
    host_status: str  # 2.16, for admins: UP, DOWN, MAINTENANCE, UNKNOWN or "" (not placed)


class ServerDescription(View):
    description: str | None  # 2.19


class ServerLocked(View):
    locked: bool  # 2.9


class ServerLockedReason(View):
    locked_reason: str | None  # 2.73: null unless locked with a reason


class ServerTags(View):
    tags: list[str]  # 2.26


class ServerEmbeddedFlavor(View):
    flavor: FlavorSnapshot  # 2.47 replaces the link with the snapshot


class ServerGroups(View):
    server_groups: list[str]  # 2.71, on show and update only


class ServerHostname(View):
    hostname: str = Field(alias="OS-EXT-SRV-ATTR:hostname")  # 2.90: members see (and set) it too


class ServerPage(View):
    """GET /servers/detail."""

    servers: list[ServerView]
    servers_links: list[Link] | None = omitted()


class AdminServerPage(View):
    servers: list[AdminServerView]
    servers_links: list[Link] | None = omitted()


class ServerSummaryPage(View):
    servers: list[ServerSummaryView]
    servers_links: list[Link] | None = omitted()
