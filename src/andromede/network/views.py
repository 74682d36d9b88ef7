"""Neutron v2.0 documents, plus the generic list handling clients rely on: filters, fields, sort, pages."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from andromede.common.clock import isotime
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.network.models import Network, Port, Subnet


def _common(row, ctx: RequestContext) -> dict:  # type: ignore[no-untyped-def]
    return {"id": row.id, "name": row.name, "tenant_id": row.project_id, "project_id": row.project_id,
            "description": row.description, "tags": list(row.tags),
            "created_at": isotime(row.created_at, subsecond=False),
            "updated_at": isotime(row.updated_at, subsecond=False), "revision_number": row.revision_number}


def network(row: Network, subnet_ids: list[str], ctx: RequestContext) -> dict:
    doc = {**_common(row, ctx), "admin_state_up": row.admin_state_up, "status": "ACTIVE", "subnets": subnet_ids,
           "shared": row.shared, "router:external": row.external, "mtu": row.mtu,
           "port_security_enabled": row.port_security_enabled, "availability_zone_hints": [],
           "availability_zones": ["nova"], "ipv4_address_scope": None, "ipv6_address_scope": None,
           "is_default": False, "l2_adjacency": True}
    if ctx.is_admin:
        doc.update({"provider:network_type": "vxlan", "provider:physical_network": None,
                    "provider:segmentation_id": row.segmentation_id})
    return doc


def subnet(row: Subnet, ctx: RequestContext) -> dict:
    return {**_common(row, ctx), "network_id": row.network_id, "ip_version": row.ip_version, "cidr": row.cidr,
            "gateway_ip": row.gateway_ip, "allocation_pools": list(row.allocation_pools),
            "dns_nameservers": list(row.dns_nameservers), "host_routes": list(row.host_routes),
            "enable_dhcp": row.enable_dhcp, "ipv6_ra_mode": row.ipv6_ra_mode,
            "ipv6_address_mode": row.ipv6_address_mode, "subnetpool_id": None, "service_types": []}


def _port_groups(row: Port) -> list[str]:
    """The port's security group ids, read through the session the row belongs to (every route has one)."""
    from andromede.network.security_groups.service import port_group_ids

    session = object_session(row)
    return port_group_ids(session, row.id) if session is not None else []


def port(row: Port, fixed_ips: list[dict], ctx: RequestContext, security_groups: list[str] | None = None) -> dict:
    doc = {**_common(row, ctx), "network_id": row.network_id, "mac_address": row.mac_address,
           "fixed_ips": fixed_ips, "device_id": row.device_id, "device_owner": row.device_owner,
           "admin_state_up": row.admin_state_up, "status": row.status,
           "security_groups": _port_groups(row) if security_groups is None else security_groups,
           "allowed_address_pairs": [{"ip_address": pair["ip_address"],  # Neutron shows the port's MAC by default
                                      "mac_address": pair.get("mac_address") or row.mac_address}
                                     for pair in row.allowed_address_pairs or []],
           "port_security_enabled": row.port_security_enabled,
           "extra_dhcp_opts": list(row.extra_dhcp_opts or []), "binding:vnic_type": "normal"}
    if ctx.is_admin:
        doc.update({"binding:host_id": row.binding_host_id, "binding:profile": {},
                    "binding:vif_type": "tap" if row.binding_host_id else "unbound", "binding:vif_details": {}})
    return doc


CONTROL_PARAMS = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any",
                            "not-tags", "not-tags-any"})


def select_docs(docs: list[dict], params: list[tuple[str, str]], collection: str, base: str, *,
                id_key: str = "id") -> dict:
    """Neutron's list semantics: exact-match filters (repeat a key for OR), tags, sort, page (by `id_key`),
    fields."""
    filters: dict[str, set[str]] = {}
    for key, value in params:
        if key not in CONTROL_PARAMS:
            filters.setdefault(key, set()).add(value)

    def matches(doc: dict) -> bool:
        for key, wanted in filters.items():
            if key not in doc:
                continue  # Neutron ignores filters on attributes it does not know
            value = doc[key]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):  # e.g. ports?security_groups=
                if not wanted & set(value):
                    return False
                continue
            if isinstance(value, bool):
                value = str(value).lower()
                wanted = {w.lower() for w in wanted}
            if str(value) not in wanted and value not in wanted:
                return False
        return True

    selected = [d for d in docs if matches(d)]
    tag_params = dict(params)
    for name, test in (("tags", all), ("tags-any", any)):
        if name in tag_params:
            wanted_tags = tag_params[name].split(",")
            selected = [d for d in selected if test(t in d.get("tags", []) for t in wanted_tags)]
    sort_keys = [v for k, v in params if k == "sort_key"]
    sort_dirs = [v for k, v in params if k == "sort_dir"]
    for index in reversed(range(len(sort_keys))):
        key = sort_keys[index]
        if docs and key not in docs[0]:
            raise BadRequest(f"{key} is an invalid attribute for sort_keys", extra={"type": "HTTPBadRequest"})
        direction = sort_dirs[index] if index < len(sort_dirs) else "asc"
        if direction not in ("asc", "desc"):
            raise BadRequest(f"{direction} is an invalid value for sort_dirs", extra={"type": "HTTPBadRequest"})
        selected.sort(key=lambda d, k=key: (d.get(k) is None, str(d.get(k))), reverse=direction == "desc")
    result: dict = {}
    limit = tag_params.get("limit")
    marker = tag_params.get("marker")
    if marker:
        ids = [d[id_key] for d in selected]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} could not be found.", extra={"type": "HTTPBadRequest"})
        selected = selected[ids.index(marker) + 1:]
    if limit is not None:
        try:
            size = int(limit)
        except ValueError:
            raise BadRequest(f"Invalid limit {limit}.", extra={"type": "HTTPBadRequest"}) from None
        if size < 0:
            raise BadRequest(f"Invalid limit {limit}.", extra={"type": "HTTPBadRequest"})
        if size and len(selected) > size:
            selected = selected[:size]
            query = "&".join(f"{k}={v}" for k, v in params if k != "marker") + f"&marker={selected[-1][id_key]}"
            result[f"{collection}_links"] = [{"rel": "next", "href": f"{base}/{collection}?{query}"}]
    fields = [v for k, v in params if k == "fields"]
    if fields:
        keep = set(fields)
        selected = [{k: v for k, v in d.items() if k in keep} for d in selected]
    result[collection] = selected
    return result
