"""Neutron v2.0 documents (View models of network/schemas.py, dumped to dicts), plus the generic list handling
clients rely on: filters, fields, sort, pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.orm import object_session

from andromede.common.clock import isotime
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest
from andromede.network.models import Network, Port, Subnet
from andromede.network.schemas import (
    AdminNetworkView,
    AdminPortView,
    NetworkView,
    PortView,
    SubnetView,
    dump,
)


def _common(row: Network | Subnet | Port) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "tenant_id": row.project_id, "project_id": row.project_id,
            "description": row.description, "tags": list(row.tags),
            "created_at": isotime(row.created_at, subsecond=False),
            "updated_at": isotime(row.updated_at, subsecond=False), "revision_number": row.revision_number}


def network(row: Network, subnet_ids: list[str], ctx: RequestContext) -> dict:
    fields = {**_common(row), "admin_state_up": row.admin_state_up, "subnets": subnet_ids, "shared": row.shared,
              "external": row.external, "mtu": row.mtu, "port_security_enabled": row.port_security_enabled}
    if ctx.is_admin:
        return dump(AdminNetworkView.model_validate({**fields, "segmentation_id": row.segmentation_id}))
    return dump(NetworkView.model_validate(fields))


def subnet(row: Subnet, ctx: RequestContext) -> dict:
    return dump(SubnetView.model_validate(
        {**_common(row), "network_id": row.network_id, "ip_version": row.ip_version, "cidr": row.cidr,
         "gateway_ip": row.gateway_ip, "allocation_pools": list(row.allocation_pools),
         "dns_nameservers": list(row.dns_nameservers), "host_routes": list(row.host_routes),
         "enable_dhcp": row.enable_dhcp, "ipv6_ra_mode": row.ipv6_ra_mode, "ipv6_address_mode": row.ipv6_address_mode}))


def _port_groups(row: Port) -> list[str]:
    """The port's security group ids, read through the session the row belongs to (every route has one)."""
    from andromede.network.security_groups.service import port_group_ids

    session = object_session(row)
    return port_group_ids(session, row.id) if session is not None else []


def port(row: Port, fixed_ips: list[dict], ctx: RequestContext, security_groups: list[str] | None = None) -> dict:
    fields = {**_common(row), "network_id": row.network_id, "mac_address": row.mac_address,
              "fixed_ips": fixed_ips, "device_id": row.device_id, "device_owner": row.device_owner,
              "admin_state_up": row.admin_state_up, "status": row.status,
              "security_groups": _port_groups(row) if security_groups is None else security_groups,
              "allowed_address_pairs": [{"ip_address": pair["ip_address"],  # Neutron shows the port's MAC by default
                                         "mac_address": pair.get("mac_address") or row.mac_address}
                                        for pair in row.allowed_address_pairs or []],
              "port_security_enabled": row.port_security_enabled,
              "extra_dhcp_opts": list(row.extra_dhcp_opts or [])}
    if ctx.is_admin:
        return dump(AdminPortView.model_validate({**fields, "host_id": row.binding_host_id,
                                                  "vif_type": "tap" if row.binding_host_id else "unbound"}))
    return dump(PortView.model_validate(fields))


CONTROL_PARAMS = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any",
                            "not-tags", "not-tags-any"})


# Attributes holding objects (or lists of them), which Neutron does not filter on (no `is_filter` in neutron-lib's
# definitions); values of this shape found in documents count too.
STRUCTURED = frozenset({"allocation_pools", "host_routes", "allowed_address_pairs", "extra_dhcp_opts",
                        "security_group_rules", "external_gateway_info", "routes", "configurations",
                        "binding:profile", "binding:vif_details", "subnet_ip_availability"})


def _structured(value: object) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and not all(isinstance(v, str) for v in value))


def _invalid_input(message: str) -> BadRequest:
    return BadRequest(f"Invalid input for operation: {message}.", extra={"type": "InvalidInput"})


def _fixed_ips_filter(values: set[str]) -> Callable[[Any], bool]:
    """Neutron's `fixed_ips=ip_address=A&fixed_ips=subnet_id=S&fixed_ips=ip_address_substr=P` on ports
    (`openstack port list --fixed-ip ...`): each `key=value` is one test; a port passes when, for every key
    given, one of its addresses matches one of that key's values."""
    wanted: dict[str, set[str]] = {}
    if values != {"True"}:  # neutron-lib's convert_kvp_list_to_dict: a bare flag filters nothing
        for item in values:
            key, sep, value = (part.strip() for part in item.partition("="))
            if not sep or not key:
                raise _invalid_input(f"'{item}' is not of the form <key>=[value]")
            wanted.setdefault(key, set()).add(value)
    tests: list[Callable[[dict], bool]] = []
    if "ip_address" in wanted:
        tests.append(lambda ip: ip.get("ip_address") in wanted["ip_address"])
    if "subnet_id" in wanted:
        tests.append(lambda ip: ip.get("subnet_id") in wanted["subnet_id"])
    if "ip_address_substr" in wanted:
        tests.append(lambda ip: any(part in ip.get("ip_address", "") for part in wanted["ip_address_substr"]))
    return lambda fixed_ips: all(any(test(ip) for ip in fixed_ips) for test in tests)


# Filters Neutron takes on such attributes, per collection.
KEY_VALUE_FILTERS: dict[str, dict[str, Callable[[set[str]], Callable[[Any], bool]]]] = {
    "ports": {"fixed_ips": _fixed_ips_filter}}


Filter = Callable[[Any], bool]

# neutron-lib's strutils.bool_from_string(strict=True) spellings
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def _to_boolean(value: str) -> bool:
    if value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _invalid_input(f"'{value[:64]}' cannot be converted to boolean")


def _to_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _invalid_input(f"'{value[:64]}' is not an integer") from None


# Attributes neutron-lib converts (`convert_to`) before filtering, a value that does not convert being a 400; MAC
# addresses Neutron compares without case.
TYPED_FILTERS: dict[str, Callable[[str], object]] = {
    "ip_version": _to_int, "provider:segmentation_id": _to_int, "admin_state_up": _to_boolean,
    "shared": _to_boolean, "router:external": _to_boolean, "port_security_enabled": _to_boolean,
    "enable_dhcp": _to_boolean, "mac_address": str.lower}


def _typed_filter(convert: Callable[[str], object], values: set[str]) -> Filter:
    wanted = {convert(v) for v in values}
    # bool is an int in Python: compare types too, so admin_state_up=1 never matches an mtu of 1
    return lambda value: any(type(value) is type(w) and value == w for w in wanted)


def _value_filters(docs: list[dict], params: list[tuple[str, str]], collection: str) -> dict[str, Filter]:
    wanted: dict[str, set[str]] = {}
    for key, value in params:
        if key not in CONTROL_PARAMS:
            wanted.setdefault(key, set()).add(value)
    filters: dict[str, Filter] = {}
    invalid = []
    key_value = KEY_VALUE_FILTERS.get(collection, {})
    for key, values in wanted.items():
        if key in key_value:
            filters[key] = key_value[key](values)
        elif key in TYPED_FILTERS:
            filters[key] = _typed_filter(TYPED_FILTERS[key], values)
        elif key in STRUCTURED or any(_structured(d.get(key)) for d in docs):
            invalid.append(key)
        else:
            filters[key] = partial(_matches_value, values)
    if invalid:
        raise BadRequest(f"{invalid} is invalid attribute for filtering", extra={"type": "HTTPBadRequest"})
    return filters


def _matches_value(wanted: set[str], value: object) -> bool:
    if isinstance(value, list):  # e.g. ports?security_groups=: any of the values
        return bool(wanted & set(value))
    if isinstance(value, bool):
        return str(value).lower() in {w.lower() for w in wanted}
    return str(value) in wanted or value in wanted


def _sort_key(key: str) -> Callable[[dict], tuple[bool, str]]:
    return lambda doc: (doc.get(key) is None, str(doc.get(key)))


def select_docs(docs: list[dict], params: list[tuple[str, str]], collection: str, base: str, *,
                id_key: str = "id") -> dict:
    """Neutron's list semantics: exact-match filters (repeat a key for OR), tags, sort, page (by `id_key`),
    fields."""
    filters = _value_filters(docs, params, collection)

    def matches(doc: dict) -> bool:
        # Neutron ignores filters on attributes it does not know
        return all(test(doc[key]) for key, test in filters.items() if key in doc)

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
        selected.sort(key=_sort_key(key), reverse=direction == "desc")
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
