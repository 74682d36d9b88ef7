"""Keystone v3 wire types: what clients may send (Create/Update) and what we answer (View).

Requests are strict: a wrong JSON type is a 400, never coerced. Unknown attributes on users, projects,
domains and groups are kept, as Keystone keeps them, and returned flattened into the resource.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    model_validator,
)


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    if value.strip() != value or not value:
        raise ValueError("must not be empty or have leading or trailing whitespace")
    return value


Name = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255), AfterValidator(_printable)]
# Keystone's projects and domains: 64 characters at most (users, groups and roles: 255).
ShortName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)]
Id = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)]
Description = Annotated[StrictStr, StringConstraints(max_length=65535)]
Secret = Annotated[StrictStr, StringConstraints(min_length=1, max_length=4096)]

# Attributes a client may send but that are ours to set; never stored as extras.
RESERVED = frozenset({"id", "links", "domain", "is_domain", "password_expires_at", "secret", "extra"})


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Open(BaseModel):
    """Keystone accepts arbitrary extra attributes on these resources."""

    model_config = ConfigDict(strict=True, extra="allow")

    def extras(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if k not in RESERVED}


class OpenUpdate(Open):
    """An update of a resource that lives in a domain (and a project tree): Keystone answers 400 to moving it."""

    @model_validator(mode="before")
    @classmethod
    def _immutable(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("domain_id", "parent_id"):
                if key in data:
                    raise ValueError(f"Cannot change {key}.")
        return data


class View(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---- domains, projects -------------------------------------------------------------------------

class DomainCreate(Open):
    name: ShortName
    description: Description | None = None
    enabled: StrictBool = True


class DomainUpdate(Open):
    name: ShortName | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class ProjectCreate(Open):
    name: ShortName
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: Description | None = None
    enabled: StrictBool = True
    is_domain: StrictBool = False
    tags: list[Name] = Field(default_factory=list, max_length=80)


class ProjectUpdate(OpenUpdate):
    name: ShortName | None = None
    description: Description | None = None
    enabled: StrictBool | None = None
    tags: list[Name] | None = Field(default=None, max_length=80)


# ---- users, groups -----------------------------------------------------------------------------

MfaRule = Annotated[list[Annotated[StrictStr, StringConstraints(max_length=64)]], Field(max_length=8)]


class UserOptions(Strict):
    multi_factor_auth_enabled: StrictBool | None = None
    multi_factor_auth_rules: list[MfaRule] | None = Field(default=None, max_length=16)
    ignore_lockout_failure_attempts: StrictBool | None = None
    ignore_password_expiry: StrictBool | None = None
    ignore_change_password_upon_first_use: StrictBool | None = None
    lock_password: StrictBool | None = None


class UserCreate(Open):
    name: Name
    domain_id: Id | None = None
    password: Secret | None = None
    enabled: StrictBool = True
    default_project_id: Id | None = None
    description: Description | None = None
    options: UserOptions | None = None


class UserUpdate(OpenUpdate):
    name: Name | None = None
    password: Secret | None = None
    enabled: StrictBool | None = None
    default_project_id: Id | None = None
    description: Description | None = None
    options: UserOptions | None = None


class PasswordChange(Strict):
    password: Secret
    original_password: Secret


class GroupCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: Description | None = None


class GroupUpdate(OpenUpdate):
    name: Name | None = None
    description: Description | None = None


# ---- roles, catalog ----------------------------------------------------------------------------

class RoleCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: Description | None = None


class RoleUpdate(Open):
    name: Name | None = None
    description: Description | None = None


class RegionCreate(Open):
    id: Name | None = None
    description: Description | None = None
    parent_region_id: Name | None = None


class RegionUpdate(Open):
    description: Description | None = None
    parent_region_id: Name | None = None


class ServiceCreate(Open):
    type: Name
    name: Name | None = None
    description: Description | None = None
    enabled: StrictBool = True


class ServiceUpdate(Open):
    type: Name | None = None
    name: Name | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


Interface = Literal["public", "internal", "admin"]
Url = Annotated[StrictStr, StringConstraints(min_length=1, max_length=1024), AfterValidator(_printable)]


class EndpointCreate(Open):
    service_id: Id
    interface: Interface
    url: Url
    region_id: Name | None = None
    region: Name | None = None
    enabled: StrictBool = True


class EndpointUpdate(Open):
    service_id: Id | None = None
    interface: Interface | None = None
    url: Url | None = None
    region_id: Name | None = None
    region: Name | None = None
    enabled: StrictBool | None = None


# ---- credentials -------------------------------------------------------------------------------

class RoleRef(Strict):
    id: Id | None = None
    name: Name | None = None
    domain_id: Id | None = None


class ApplicationCredentialCreate(Strict):
    name: Name
    secret: Secret | None = None
    description: Description | None = None
    expires_at: StrictStr | None = None
    roles: list[RoleRef] | None = Field(default=None, max_length=64)
    unrestricted: StrictBool = False
    access_rules: list[dict] | None = None


class CredentialCreate(Strict):
    type: Name
    user_id: Id
    project_id: Id | None = None
    blob: Annotated[StrictStr, StringConstraints(min_length=1, max_length=8192)]


class CredentialUpdate(Strict):
    type: Name | None = None
    user_id: Id | None = None
    project_id: Id | None = None
    blob: Annotated[StrictStr, StringConstraints(min_length=1, max_length=8192)] | None = None


class Ec2Create(Strict):
    tenant_id: Id


# ---- authentication ----------------------------------------------------------------------------

class DomainRef(Strict):
    id: Id | None = None
    name: Name | None = None


class AuthUser(Strict):
    id: Id | None = None
    name: Name | None = None
    domain: DomainRef | None = None
    password: Secret | None = None
    passcode: Annotated[StrictStr, StringConstraints(max_length=16)] | None = None


class PasswordMethod(Strict):
    user: AuthUser


class TokenMethod(Strict):
    id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=4096)]


class TotpMethod(Strict):
    user: AuthUser


class AppCredMethod(Strict):
    id: Id | None = None
    name: Name | None = None
    secret: Secret
    user: AuthUser | None = None


class AuthIdentity(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    methods: list[Annotated[StrictStr, StringConstraints(max_length=64)]] = Field(min_length=1, max_length=8)
    password: PasswordMethod | None = None
    token: TokenMethod | None = None
    totp: TotpMethod | None = None
    application_credential: AppCredMethod | None = None


class ProjectRef(Strict):
    id: Id | None = None
    name: Name | None = None
    domain: DomainRef | None = None


class SystemRef(Strict):
    all: StrictBool


class AuthScope(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
    project: ProjectRef | None = None
    domain: DomainRef | None = None
    system: SystemRef | None = None
    trust: dict | None = Field(default=None, alias="OS-TRUST:trust")


class Auth(Strict):
    identity: AuthIdentity
    scope: AuthScope | Literal["unscoped"] | None = None


class AuthRequest(Strict):
    auth: Auth


# ---- views -------------------------------------------------------------------------------------

class Links(View):
    self: str


class DomainView(View):
    id: str
    name: str
    description: str
    enabled: bool
    tags: list[str] = Field(default_factory=list)
    options: dict = Field(default_factory=dict)
    links: Links


class ProjectView(View):
    id: str
    name: str
    domain_id: str | None  # None for a project acting as a domain
    parent_id: str | None
    description: str
    enabled: bool
    is_domain: bool = False
    tags: list[str] = Field(default_factory=list)
    options: dict = Field(default_factory=dict)
    links: Links


class UserView(View):
    id: str
    name: str
    domain_id: str
    enabled: bool
    default_project_id: str | None = None
    description: str | None = None
    password_expires_at: str | None = None
    options: dict = Field(default_factory=dict)
    links: Links


class GroupView(View):
    id: str
    name: str
    domain_id: str
    description: str
    links: Links


class RoleView(View):
    id: str
    name: str
    domain_id: str | None
    description: str | None = None
    options: dict = Field(default_factory=dict)
    links: Links


class RegionView(View):
    id: str
    description: str
    parent_region_id: str | None
    links: Links


class ServiceView(View):
    id: str
    type: str
    name: str
    description: str
    enabled: bool
    links: Links


class EndpointView(View):
    id: str
    service_id: str
    interface: str
    region_id: str | None
    region: str | None
    url: str
    enabled: bool
    links: Links


class ApplicationCredentialView(View):
    id: str
    name: str
    user_id: str
    project_id: str | None
    system: str | None = None
    description: str | None
    roles: list[dict]
    expires_at: str | None
    unrestricted: bool
    access_rules: list[dict] = Field(default_factory=list)
    links: Links


class CredentialView(View):
    id: str
    type: str
    user_id: str
    project_id: str | None
    blob: str
    links: Links


class Ec2View(View):
    access: str
    secret: str
    user_id: str
    tenant_id: str | None
    trust_id: str | None = None
    links: Links


def dump(view: BaseModel) -> dict[str, Any]:
    return view.model_dump(mode="json")

