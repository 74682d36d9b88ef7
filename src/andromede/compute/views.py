"""Nova v2.1 documents: exactly the keys clients and Tempest's strict schemas expect, no more."""

from __future__ import annotations

import hashlib

from andromede.common.clock import isotime
from andromede.common.context import RequestContext
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

    def links(self, collection: str, ident: str) -> list[dict]:
        return [{"rel": "self", "href": f"{self.v21}/{collection}/{ident}"},
                {"rel": "bookmark", "href": f"{self.base}/{collection}/{ident}"}]

    def flavor(self, row: Flavor, *, detail: bool = True) -> dict:
        if not detail:
            return {"id": row.id, "name": row.name, "links": self.links("flavors", row.id)}
        return {"id": row.id, "name": row.name, "ram": row.ram, "vcpus": row.vcpus, "disk": row.disk,
                "swap": row.swap or "", "OS-FLV-EXT-DATA:ephemeral": row.ephemeral,
                "OS-FLV-DISABLED:disabled": row.disabled, "os-flavor-access:is_public": row.is_public,
                "rxtx_factor": row.rxtx_factor, "links": self.links("flavors", row.id)}

    @staticmethod
    def keypair_summary(row: KeyPair) -> dict:
        return {"name": row.name, "public_key": row.public_key, "fingerprint": row.fingerprint}

    @staticmethod
    def keypair(row: KeyPair) -> dict:
        return {"id": row.id, "name": row.name, "public_key": row.public_key, "fingerprint": row.fingerprint,
                "user_id": row.user_id, "created_at": isotime(row.created_at), "updated_at": None,
                "deleted": False, "deleted_at": None}

    def server_summary(self, row: Instance) -> dict:
        return {"id": row.uuid, "name": row.name, "links": self.links("servers", row.uuid)}

    def server(self, row: Instance, ctx: RequestContext, addresses: dict | None = None,
               security_groups: list[dict] | None = None) -> dict:
        status = status_of(row)
        host_id = hashlib.sha224((row.project_id + (row.host or "")).encode()).hexdigest() if row.host else ""
        doc: dict = {
            "id": row.uuid, "name": row.name, "status": status, "tenant_id": row.project_id,
            "user_id": row.user_id, "created": isotime(row.created_at, subsecond=False),
            "updated": isotime(row.updated_at, subsecond=False), "hostId": host_id,
            "image": {"id": row.image_id, "links": [{"rel": "bookmark", "href": f"{self.base}/images/{row.image_id}"}]},
            "flavor": {"id": row.flavor_id,
                       "links": [{"rel": "bookmark", "href": f"{self.base}/flavors/{row.flavor_id}"}]},
            "addresses": addresses or {}, "metadata": dict(row.meta), "links": self.links("servers", row.uuid),
            "accessIPv4": row.access_ip_v4 or "", "accessIPv6": row.access_ip_v6 or "",
            "OS-DCF:diskConfig": "MANUAL", "key_name": row.key_name,
            "OS-SRV-USG:launched_at": isotime(row.launched_at), "OS-SRV-USG:terminated_at": isotime(row.terminated_at),
            "OS-EXT-AZ:availability_zone": row.availability_zone, "OS-EXT-STS:task_state": row.task_state,
            "OS-EXT-STS:vm_state": row.vm_state, "OS-EXT-STS:power_state": row.power_state,
            "os-extended-volumes:volumes_attached": [], "config_drive": "True" if row.config_drive else "",
        }
        if security_groups:
            doc["security_groups"] = security_groups
        if status in PROGRESS_STATES:
            doc["progress"] = PROGRESS_STATES[status]
        if status in ("ERROR", "DELETED") and row.fault:
            doc["fault"] = dict(row.fault)
        if ctx.is_admin:
            doc["OS-EXT-SRV-ATTR:host"] = row.host
            doc["OS-EXT-SRV-ATTR:instance_name"] = instance_name(row.uuid)
            doc["OS-EXT-SRV-ATTR:hypervisor_hostname"] = row.host
        return doc

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
