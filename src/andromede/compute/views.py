"""Nova v2.1 documents: rows to the View models of compute/schemas.py, which FastAPI serialises by alias."""

from __future__ import annotations

import hashlib
import uuid
from functools import cache
from types import GenericAlias
from typing import Any

from andromede.common.clock import isotime
from andromede.common.context import RequestContext
from andromede.compute import schemas as v
from andromede.compute.models import Flavor, Instance, KeyPair
from andromede.compute.servers import status_of
from andromede.hosts.service import HostView


def instance_name(uuid: str) -> str:
    """The name Nova's admins know a server by on its hypervisor."""
    return f"instance-{uuid[:8]}"


PROGRESS_STATES = {"ACTIVE": 100, "BUILD": 0, "REBUILD": 0}
Version = tuple[int, int]

# The server fields later microversions add, by the version that brings each and who sees it: "admin" (Nova's
# default policy), "member" (not admins: they have it already), "all".
SERVER_FIELDS_SINCE: tuple[tuple[Version, str, type[v.View]], ...] = (
    ((2, 3), "admin", v.ServerExtendedAttrs),
    ((2, 9), "all", v.ServerLocked),
    ((2, 16), "admin", v.ServerHostStatus),
    ((2, 19), "all", v.ServerDescription),
    ((2, 26), "all", v.ServerTags),
    ((2, 47), "all", v.ServerEmbeddedFlavor),
    ((2, 73), "all", v.ServerLockedReason),
    ((2, 90), "member", v.ServerHostname),
)


def server_mixins(version: Version, admin: bool) -> tuple[type[v.View], ...]:
    audience = ("all", "admin") if admin else ("all", "member")
    return tuple(mixin for since, who, mixin in SERVER_FIELDS_SINCE if version >= since and who in audience)


@cache
def server_view_type(mixins: tuple[type[v.View], ...], admin: bool) -> type[v.ServerView]:
    """The server document holding the 2.1 fields and these later ones: one class per field set, built once."""
    base: type[v.ServerView] = v.AdminServerView if admin else v.ServerView
    if not mixins:
        return base
    name = base.__name__ + "".join(m.__name__.removeprefix("Server") for m in mixins)
    # Mixins first, so a mixin's field (2.47's flavor) overrides the base's, in the base's place.
    return type(name, (*reversed(mixins), base), {"__module__": v.__name__})


@cache
def server_page_type(view: type[v.ServerView]) -> type[v.View]:
    """GET /servers/detail's envelope for this server document."""
    if view is v.ServerView:
        return v.ServerPage
    if view is v.AdminServerView:
        return v.AdminServerPage
    annotations = {"servers": GenericAlias(list, (view,)), "servers_links": list[v.Link] | None}
    return type(view.__name__ + "Page", (v.View,), {"__annotations__": annotations, "__module__": v.__name__,
                                                    "servers_links": v.omitted()})


@cache
def flavor_view_type(version: Version, detail: bool) -> type[v.View]:
    base: type[v.View] = v.FlavorView if detail else v.FlavorSummaryView
    mixins = [m for since, m in (((2, 55), v.FlavorDescription), ((2, 61), v.FlavorExtraSpecs))
              if version >= since and (detail or m is v.FlavorDescription)]
    if not mixins:
        return base
    return type(base.__name__ + "".join(m.__name__ for m in mixins), (*reversed(mixins), base),
                {"__module__": v.__name__})


def _with_type(base: type[v.View], version: Version) -> type[v.View]:
    return _typed(base) if version >= (2, 2) else base


@cache
def _typed(base: type[v.View]) -> type[v.View]:
    return type(base.__name__ + "Typed", (v.KeypairType, base), {"__module__": v.__name__})


def host_status(enabled: bool, alive: bool) -> str:
    """2.16's host_status of a server's host, as Nova words it."""
    if not enabled:
        return "MAINTENANCE"
    return "UP" if alive else "DOWN"


class Views:
    def __init__(self, compute_url: str, version: Version = (2, 1)) -> None:
        self.base = compute_url  # .../compute
        self.v21 = compute_url + "/v2.1"
        self.version = version  # the request's microversion: which fields each document has

    # Views are built with View.trusted (no validation): the values come from our own rows, and validating every
    # field of every server made /servers/detail three times slower. tests/unit/compute/test_views.py validates
    # views built here strictly, so the shapes stay checked. trusted wants every field, defaults too.

    def links(self, collection: str, ident: str) -> list[v.Link]:
        return [{"rel": "self", "href": f"{self.v21}/{collection}/{ident}"},
                {"rel": "bookmark", "href": f"{self.base}/{collection}/{ident}"}]

    def _bookmark(self, collection: str, ident: str) -> v.Ref:
        return {"id": ident, "links": [{"rel": "bookmark", "href": f"{self.base}/{collection}/{ident}"}]}

    def flavor(self, row: Flavor, *, detail: bool = True) -> v.View:
        # A trusted view's JSON follows its dict's order: fields go in as the class declares them.
        view = flavor_view_type(self.version, detail)
        fields: dict[str, Any] = {"id": row.id, "name": row.name}
        if detail:
            fields.update(ram=row.ram, vcpus=row.vcpus, disk=row.disk,
                          swap=row.swap if self.version >= (2, 75) else row.swap or "",  # 2.75: 0, not ""
                          ephemeral=row.ephemeral, disabled=row.disabled, is_public=row.is_public,
                          rxtx_factor=row.rxtx_factor)
        fields["links"] = self.links("flavors", row.id)
        if self.version >= (2, 55):
            fields["description"] = row.description
        if detail and self.version >= (2, 61):
            fields["extra_specs"] = dict(row.extra_specs)
        return view.trusted_from(fields)

    def _keypair_type(self, row: KeyPair) -> dict[str, str]:
        return {"type": row.type} if self.version >= (2, 2) else {}

    def keypair_summary(self, row: KeyPair) -> v.View:
        return _with_type(v.KeypairSummaryView, self.version).trusted(
            name=row.name, public_key=row.public_key, fingerprint=row.fingerprint, **self._keypair_type(row))

    def keypair_created(self, row: KeyPair, private_key: str | None) -> v.View:
        return _with_type(v.KeypairCreatedView, self.version).trusted(
            name=row.name, public_key=row.public_key, fingerprint=row.fingerprint, user_id=row.user_id,
            private_key=private_key, **self._keypair_type(row))

    def keypair(self, row: KeyPair) -> v.View:
        return _with_type(v.KeypairView, self.version).trusted(
            id=row.id, name=row.name, public_key=row.public_key, fingerprint=row.fingerprint, user_id=row.user_id,
            created_at=isotime(row.created_at), updated_at=None, deleted=False, deleted_at=None,
            **self._keypair_type(row))

    def server_summary(self, row: Instance) -> v.ServerSummaryView:
        return v.ServerSummaryView.trusted(id=row.uuid, name=row.name, links=self.links("servers", row.uuid))

    def server_created(self, row: Instance, admin_pass: str | None) -> v.ServerCreatedView:
        return v.ServerCreatedView.trusted(id=row.uuid, links=self.links("servers", row.uuid),
                                           disk_config=row.disk_config or "MANUAL",
                                           admin_pass=admin_pass)

    def server(self, row: Instance, ctx: RequestContext, addresses: dict | None = None,
               security_groups: list[dict] | None = None, *, host_status: str = "UNKNOWN",
               server_groups: list[str] | None = None,
               volumes: list[tuple[str, bool]] | None = None) -> v.ServerView:
        """The server at this microversion; host_status is its host's (2.16, admins), server_groups its groups
        (2.71: given on show and update, where Nova shows them, not on lists)."""
        status = status_of(row)
        host_id = hashlib.sha224((row.project_id + (row.host or "")).encode()).hexdigest() if row.host else ""
        fields: dict[str, Any] = {
            "id": row.uuid, "name": row.name, "status": status, "tenant_id": row.project_id,
            "user_id": row.user_id, "created": isotime(row.created_at, subsecond=False),
            "updated": isotime(row.updated_at, subsecond=False), "hostId": host_id,
            "image": self._bookmark("images", row.image_id), "flavor": self._bookmark("flavors", row.flavor_id),
            "addresses": addresses or {}, "metadata": dict(row.meta), "links": self.links("servers", row.uuid),
            "accessIPv4": row.access_ip_v4 or "", "accessIPv6": row.access_ip_v6 or "",
            "disk_config": row.disk_config or "MANUAL", "key_name": row.key_name,
            "launched_at": isotime(row.launched_at),
            "terminated_at": isotime(row.terminated_at), "availability_zone": row.availability_zone,
            "task_state": row.task_state, "vm_state": row.vm_state, "power_state": row.power_state,
            "volumes_attached": [self._volume_attached(volume_id, delete) for volume_id, delete in volumes or ()],
            "config_drive": "True" if row.config_drive else "",
            "security_groups": security_groups or None,
            "progress": PROGRESS_STATES.get(status),
            "fault": dict(row.fault) if status in ("ERROR", "DELETED") and row.fault else None,
        }
        if ctx.is_admin:
            fields.update(host=row.host, instance_name=instance_name(row.uuid), hypervisor_hostname=row.host)
        mixins = server_mixins(self.version, ctx.is_admin)
        if mixins:
            self._later_server_fields(fields, row, mixins, host_status)
        if server_groups is not None and self.version >= (2, 71):
            mixins = (*mixins, v.ServerGroups)
            fields["server_groups"] = server_groups
        return server_view_type(mixins, ctx.is_admin).trusted_from(fields)

    def _volume_attached(self, volume_id: str, delete_on_termination: bool) -> dict[str, Any]:
        """An entry of os-extended-volumes:volumes_attached; delete_on_termination from 2.3."""
        if self.version >= (2, 3):
            return {"id": volume_id, "delete_on_termination": delete_on_termination}
        return {"id": volume_id}

    @staticmethod
    def _later_server_fields(fields: dict[str, Any], row: Instance, mixins: tuple[type[v.View], ...],
                             host_status: str) -> None:
        if v.ServerExtendedAttrs in mixins:
            fields.update(reservation_id=row.reservation_id, launch_index=row.launch_index, hostname=row.hostname,
                          kernel_id="", ramdisk_id="", root_device_name="/dev/vda", user_data=row.user_data)
        if v.ServerLocked in mixins:
            fields["locked"] = bool(row.locked)
        if v.ServerHostStatus in mixins:
            fields["host_status"] = host_status if row.host else ""
        if v.ServerDescription in mixins:
            fields["description"] = row.description
        if v.ServerTags in mixins:
            fields["tags"] = list(row.tags or [])
        if v.ServerLockedReason in mixins:
            fields["locked_reason"] = row.locked_reason if row.locked else None
        if v.ServerHostname in mixins:
            fields["hostname"] = row.hostname
        if v.ServerEmbeddedFlavor in mixins:
            snap = row.flavor or {}
            fields["flavor"] = {"vcpus": snap.get("vcpus", 0), "ram": snap.get("ram", 0), "disk": snap.get("disk", 0),
                                "ephemeral": snap.get("ephemeral", 0), "swap": snap.get("swap", 0),
                                "original_name": snap.get("name", row.flavor_id),
                                "extra_specs": dict(snap.get("extra_specs", {}))}

    def hypervisor(self, row: HostView, index: int, running: int, *, detail: bool) -> dict:
        """Nova's hypervisor: numbered ids up to 2.52, uuids from 2.53; 2.88 leaves out the usage figures
        (placement has them in Nova) and adds uptime."""
        version = self.version
        doc: dict = {"id": hypervisor_id(row.name) if version >= (2, 53) else index,
                     "hypervisor_hostname": row.name, "state": "up" if row.last_seen else "down",
                     "status": "enabled" if row.enabled else "disabled"}
        if not detail:
            return doc
        service = {"host": row.name, "id": service_id(row.name) if version >= (2, 53) else index,
                   "disabled_reason": None}
        if version < (2, 88):
            doc.update({"vcpus": row.vcpus, "memory_mb": row.memory_mib, "local_gb": row.disk_gib,
                        "vcpus_used": row.used_vcpus, "memory_mb_used": row.used_memory_mib,
                        "local_gb_used": row.used_disk_gib, "free_ram_mb": row.memory_mib - row.used_memory_mib,
                        "free_disk_gb": row.disk_gib - row.used_disk_gib})
        doc.update({"hypervisor_type": "QEMU", "hypervisor_version": 7002000})
        if version < (2, 88):
            doc.update({"running_vms": running, "current_workload": 0,
                        "disk_available_least": row.disk_gib - row.used_disk_gib})
        doc["host_ip"] = "127.0.0.1"
        if version < (2, 88):
            doc["cpu_info"] = {} if version >= (2, 28) else "{}"  # 2.28: an object, no longer a string
        doc["service"] = service
        if version >= (2, 88):
            doc["uptime"] = row.uptime  # the host's uptime(1) line in its last heartbeat
        return doc


def hypervisor_id(host: str) -> str:
    """2.53's hypervisor uuid: stable per host name (our hosts are keyed by name)."""
    return str(uuid.uuid5(_IDS, "hypervisor:" + host))


def service_id(host: str) -> str:
    """2.53's service uuid of a host's nova-compute."""
    return str(uuid.uuid5(_IDS, "nova-compute:" + host))


_IDS = uuid.UUID("5b0b7d3c-6a51-4c5e-9d4a-3f1f3c1d7a11")
