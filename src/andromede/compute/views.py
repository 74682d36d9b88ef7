"""Nova v2.1 documents: rows to the View models of compute/schemas.py, which FastAPI serialises by alias."""

from __future__ import annotations

import hashlib
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


class Views:
    def __init__(self, compute_url: str) -> None:
        self.base = compute_url  # .../compute
        self.v21 = compute_url + "/v2.1"

    # Views are built with View.trusted (no validation): the values come from our own rows, and validating every
    # field of every server made /servers/detail three times slower. tests/unit/compute/test_views.py validates
    # views built here strictly, so the shapes stay checked. trusted wants every field, defaults too.

    def links(self, collection: str, ident: str) -> list[v.Link]:
        return [{"rel": "self", "href": f"{self.v21}/{collection}/{ident}"},
                {"rel": "bookmark", "href": f"{self.base}/{collection}/{ident}"}]

    def _bookmark(self, collection: str, ident: str) -> v.Ref:
        return {"id": ident, "links": [{"rel": "bookmark", "href": f"{self.base}/{collection}/{ident}"}]}

    def flavor(self, row: Flavor, *, detail: bool = True) -> v.FlavorView | v.FlavorSummaryView:
        if not detail:
            return v.FlavorSummaryView.trusted(id=row.id, name=row.name, links=self.links("flavors", row.id))
        return v.FlavorView.trusted(
            id=row.id, name=row.name, ram=row.ram, vcpus=row.vcpus, disk=row.disk, swap=row.swap or "",
            ephemeral=row.ephemeral, disabled=row.disabled, is_public=row.is_public, rxtx_factor=row.rxtx_factor,
            links=self.links("flavors", row.id))

    @staticmethod
    def keypair_summary(row: KeyPair) -> v.KeypairSummaryView:
        return v.KeypairSummaryView.trusted(name=row.name, public_key=row.public_key, fingerprint=row.fingerprint)

    @staticmethod
    def keypair_created(row: KeyPair, private_key: str | None) -> v.KeypairCreatedView:
        return v.KeypairCreatedView.trusted(name=row.name, public_key=row.public_key, fingerprint=row.fingerprint,
                                            user_id=row.user_id, private_key=private_key)

    @staticmethod
    def keypair(row: KeyPair) -> v.KeypairView:
        return v.KeypairView.trusted(id=row.id, name=row.name, public_key=row.public_key, fingerprint=row.fingerprint,
                                     user_id=row.user_id, created_at=isotime(row.created_at), updated_at=None,
                                     deleted=False, deleted_at=None)

    def server_summary(self, row: Instance) -> v.ServerSummaryView:
        return v.ServerSummaryView.trusted(id=row.uuid, name=row.name, links=self.links("servers", row.uuid))

    def server_created(self, row: Instance, admin_pass: str | None) -> v.ServerCreatedView:
        return v.ServerCreatedView.trusted(id=row.uuid, links=self.links("servers", row.uuid),
                                           disk_config=row.disk_config or "MANUAL",
                                           admin_pass=admin_pass)

    def server(self, row: Instance, ctx: RequestContext, addresses: dict | None = None,
               security_groups: list[dict] | None = None, version: tuple[int, int] = (2, 1)) -> v.ServerView:
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
            "volumes_attached": [], "config_drive": "True" if row.config_drive else "",
            "security_groups": security_groups or None,
            "progress": PROGRESS_STATES.get(status),
            "fault": dict(row.fault) if status in ("ERROR", "DELETED") and row.fault else None,
            "locked": bool(row.locked) if version >= (2, 9) else None,
            "locked_reason": row.locked_reason if version >= (2, 73) else None,
        }
        if not ctx.is_admin:
            return v.ServerView.trusted_from(fields)
        fields.update(host=row.host, instance_name=instance_name(row.uuid), hypervisor_hostname=row.host)
        return v.AdminServerView.trusted_from(fields)

    @staticmethod
    def hypervisor(row: HostView, index: int, running: int, *, detail: bool) -> dict:
        doc: dict = {"id": index, "hypervisor_hostname": row.name, "state": "up" if row.last_seen else "down",
                     "status": "enabled" if row.enabled else "disabled"}
        if detail:
            doc.update({"vcpus": row.vcpus, "memory_mb": row.memory_mib, "local_gb": row.disk_gib,
                        "vcpus_used": row.used_vcpus, "memory_mb_used": row.used_memory_mib,
                        "local_gb_used": row.used_disk_gib, "free_ram_mb": row.memory_mib - row.used_memory_mib,
                        "free_disk_gb": row.disk_gib - row.used_disk_gib, "hypervisor_type": "QEMU",
                        "hypervisor_version": 7002000, "running_vms": running, "current_workload": 0,
                        "disk_available_least": row.disk_gib - row.used_disk_gib, "host_ip": "127.0.0.1",
                        "cpu_info": "{}", "service": {"host": row.name, "id": index, "disabled_reason": None}})
        return doc
