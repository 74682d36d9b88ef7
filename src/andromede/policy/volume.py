"""Cinder's default RBAC (its 2023 scoped defaults, project scope): readers list and show, members create, change
and delete their project's volumes; volume types are a cloud admin's to make. Another project's volume is a 404
from the service before any check that would say it exists."""

from __future__ import annotations

from andromede.policy.checks import ADMIN, PROJECT_MEMBER, PROJECT_READER, any_of
from andromede.policy.enforcer import register, rule_maker

V3 = "/volume/v3/{project_id}"
_rule = rule_maker("volume", V3)
_ext = rule_maker("volume_extension", V3)
_READ = any_of(ADMIN, PROJECT_READER)
_WRITE = any_of(ADMIN, PROJECT_MEMBER)

register(
    _rule("get_all", _READ, "List volumes.", ("GET", "/volumes"), ("GET", "/volumes/detail")),
    _rule("create", _WRITE, "Create a volume.", ("POST", "/volumes")),
    _rule("get", _READ, "Show a volume or its metadata.", ("GET", "/volumes/{volume_id}"),
          ("GET", "/volumes/{volume_id}/metadata")),
    _rule("update", _WRITE, "Change a volume's name, description or metadata.", ("PUT", "/volumes/{volume_id}")),
    _rule("update_volume_metadata", _WRITE, "Add, replace or remove a volume's metadata.",
          ("POST", "/volumes/{volume_id}/metadata"), ("PUT", "/volumes/{volume_id}/metadata"),
          ("DELETE", "/volumes/{volume_id}/metadata/{key}")),
    _rule("delete", _WRITE, "Delete a volume.", ("DELETE", "/volumes/{volume_id}")),
    _rule("extend", _WRITE, "Grow an available volume (os-extend).", ("POST", "/volumes/{volume_id}/action")),
    _rule("create_snapshot", _WRITE, "Take a snapshot of a volume of the project.", ("POST", "/snapshots")),
    _rule("get_all_snapshots", _READ, "List the project's snapshots.", ("GET", "/snapshots"),
          ("GET", "/snapshots/detail")),
    _rule("get_snapshot", _READ, "Show a snapshot.", ("GET", "/snapshots/{snapshot_id}")),
    _rule("update_snapshot", _WRITE, "Rename or redescribe a snapshot.", ("PUT", "/snapshots/{snapshot_id}")),
    _rule("delete_snapshot", _WRITE, "Delete a snapshot.", ("DELETE", "/snapshots/{snapshot_id}")),
    _rule("get_snapshot_metadata", _READ, "Show a snapshot's metadata.", ("GET", "/snapshots/{snapshot_id}/metadata")),
    _rule("update_snapshot_metadata", _WRITE, "Add or replace a snapshot's metadata.",
          ("POST", "/snapshots/{snapshot_id}/metadata"), ("PUT", "/snapshots/{snapshot_id}/metadata")),
    _rule("delete_snapshot_metadata", _WRITE, "Remove a key of a snapshot's metadata.",
          ("DELETE", "/snapshots/{snapshot_id}/metadata/{key}")),
    _rule("create_transfer", _WRITE, "Offer a volume of the project to another project.",
          ("POST", "/os-volume-transfer")),
    _rule("get_all_transfers", _READ, "List the project's volume transfers.", ("GET", "/os-volume-transfer"),
          ("GET", "/os-volume-transfer/detail")),
    _rule("get_transfer", _READ, "Show a volume transfer of the project.",
          ("GET", "/os-volume-transfer/{transfer_id}")),
    _rule("delete_transfer", _WRITE, "Withdraw a volume transfer of the project.",
          ("DELETE", "/os-volume-transfer/{transfer_id}")),
    _rule("accept_transfer", _WRITE, "Take a volume offered to whoever holds its transfer's id and auth key.",
          ("POST", "/os-volume-transfer/{transfer_id}/accept")),
    _rule("limits", _READ, "Show the project's absolute limits and usage.", ("GET", "/limits")),
    _ext("types_manage:get", _READ, "List and show volume types.", ("GET", "/types"), ("GET", "/types/{type_id}")),
    _ext("types_manage:create", ADMIN, "Create a volume type (encrypted or not: a cloud admin's choice).",
         ("POST", "/types")),
    _ext("types_manage:delete", ADMIN, "Delete a volume type no volume uses.", ("DELETE", "/types/{type_id}")),
    _ext("volume_type_encryption:get", _READ, "Show a volume type's encryption.",
         ("GET", "/types/{type_id}/encryption")),
    _ext("volume_type_encryption:create", ADMIN, "Make a volume type encrypted.",
         ("POST", "/types/{type_id}/encryption")),
    _ext("volume_type_encryption:delete", ADMIN, "Make an unused volume type unencrypted.",
         ("DELETE", "/types/{type_id}/encryption/{encryption_id}")),
    _ext("availability_zone_list", _READ, "List availability zones.", ("GET", "/os-availability-zone")),
    _ext("quotas:show", _READ, "Show a project's quotas (one's own; any for a cloud admin).",
         ("GET", "/os-quota-sets/{project_id}")),
    _ext("quotas:update", ADMIN, "Set a project's volume quotas.", ("PUT", "/os-quota-sets/{project_id}")),
)
