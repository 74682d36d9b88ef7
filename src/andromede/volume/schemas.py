"""What the volume routes accept, checked by hand into Cinder's messages (400 badRequest, nothing made)."""

from __future__ import annotations

import json
from typing import Any

from andromede.common.errors import BadRequest

_SORT_KEYS = {"created_at": "created_at", "updated_at": "updated_at", "name": "name", "id": "id", "size": "size",
              "status": "status"}


def _invalid(field: str, value: object, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def _envelope(body: object, key: str) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Missing required element '{key}' in request body.")
    return body[key]


def _text(fields: dict, key: str, out: dict[str, Any]) -> None:
    if key not in fields:
        return
    value = fields[key]
    if value is not None and not isinstance(value, str):
        raise _invalid(key, value, f"{value!r} is not of type 'string', 'null'")
    if key == "name" and value is not None and len(value) > 255:
        raise _invalid(key, value, f"{value!r} is too long")
    out[key] = value


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _invalid("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not key or len(key) > 255 or not isinstance(item, str) or len(item) > 255:
            raise _invalid("metadata", value, "Metadata keys and values must be strings of 1 to 255 characters")
    return dict(value)


def volume_create(body: object) -> dict[str, Any]:
    fields = _envelope(body, "volume")
    out: dict[str, Any] = {}
    for source in ("snapshot_id", "source_volid"):
        if fields.get(source) is not None:
            if not isinstance(fields[source], str) or not fields[source]:
                raise _invalid(source, fields[source], f"{fields[source]!r} is not of type 'string'")
            out[source] = fields[source]
    if sum(1 for key in ("snapshot_id", "source_volid", "imageRef") if fields.get(key) is not None) > 1:
        raise BadRequest("Invalid input received: only one of snapshot_id, source_volid and imageRef may be given.")
    size = fields.get("size")
    if size is None and ("snapshot_id" in out or "source_volid" in out):
        size = 0  # the source's size (the service fills it in)
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int):
        raise _invalid("size", size, f"{size!r} is not of type 'integer', 'string'")
    if size < 1 and not (size == 0 and fields.get("size") is None):
        raise _invalid("size", size, f"{size} is less than the minimum of 1")
    if size > 2 ** 31 - 1:
        raise _invalid("size", size, f"{size} is greater than the maximum of {2 ** 31 - 1}")
    out["size"] = size
    for key in ("name", "description", "volume_type", "availability_zone"):
        _text(fields, key, out)
    if fields.get("metadata") is not None:
        out["metadata"] = _metadata(fields["metadata"])
    image_ref = fields.get("imageRef")
    if image_ref is not None:
        if not isinstance(image_ref, str) or not image_ref.strip():
            raise _invalid("imageRef", image_ref, f"{image_ref!r} is not a valid image reference")
        out["image_id"] = image_ref.strip()
    for unsupported in ("backup_id", "consistencygroup_id"):
        if fields.get(unsupported):
            raise BadRequest(f"Invalid input received: creating a volume from {unsupported} is not supported yet.")
    return out


def volume_update(body: object) -> dict[str, Any]:
    fields = _envelope(body, "volume")
    out: dict[str, Any] = {}
    for key in ("name", "description"):
        _text(fields, key, out)
    if "display_name" in fields:
        _text({"name": fields["display_name"]}, "name", out)
    if "metadata" in fields:
        out["metadata"] = _metadata(fields["metadata"])
    if not out:
        raise BadRequest("Invalid input received: At least one of name, description or metadata must be given.")
    return out


def metadata_body(body: object) -> dict[str, str]:
    if not isinstance(body, dict) or "metadata" not in body:
        raise BadRequest("Malformed request body")
    return _metadata(body["metadata"])


def metadata_filter(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw.replace("'", '"'))
    except (ValueError, RecursionError):
        raise BadRequest(f"Invalid input received: metadata filter {raw!r} is not a JSON object.") from None
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input received: metadata filter {raw!r} is not a JSON object.")
    return {str(k): str(v) for k, v in value.items()}


def sort(sort_param: str | None, sort_key: str | None, sort_dir: str | None) -> tuple[str, bool]:
    key, direction = "created_at", "desc"
    if sort_param:
        first = sort_param.split(",")[0]
        key, _, direction = first.partition(":")
        direction = direction or "desc"
    elif sort_key:
        key, direction = sort_key, sort_dir or "desc"
    if key not in _SORT_KEYS:
        raise BadRequest(f"Invalid input received: Invalid sort key {key}.")
    if direction not in ("asc", "desc"):
        raise BadRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.")
    return _SORT_KEYS[key], direction == "desc"


def limit(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequest("Invalid input received: limit must be an integer 0 or greater")
    return int(raw)


def quota_update(body: object) -> dict[str, int]:
    fields = _envelope(body, "quota_set")
    out: dict[str, int] = {}
    for key, value in fields.items():
        if key in ("per_volume_gigabytes", "backups", "backup_gigabytes", "groups", "id"):
            continue  # accepted and not kept: nothing here makes backups or groups yet
        if key not in ("volumes", "gigabytes", "snapshots"):
            raise BadRequest(f"Bad key(s) in quota set: {key}")
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < -1:
            raise BadRequest(f"Invalid input received: Quota limit {value} for {key} must be an integer "
                             "of -1 or more.")
        out[key] = value
    return out


def transfer_create(body: object) -> dict[str, Any]:
    """Cinder's transfer create: the volume's id (a string, required) and an optional name."""
    fields = _envelope(body, "transfer")
    volume_id = fields.get("volume_id")
    if not isinstance(volume_id, str) or not volume_id:
        raise _invalid("volume_id", volume_id, f"{volume_id!r} is not of type 'string'")
    out: dict[str, Any] = {"volume_id": volume_id}
    _text(fields, "name", out)
    return out


def transfer_accept(body: object) -> str:
    fields = _envelope(body, "accept")
    auth_key = fields.get("auth_key")
    if not isinstance(auth_key, str) or not auth_key or len(auth_key) > 255:
        raise _invalid("auth_key", "***", "'auth_key' is a required string")
    return auth_key


_BOOLEANS = {"true": True, "t": True, "yes": True, "y": True, "on": True, "1": True,
             "false": False, "f": False, "no": False, "n": False, "off": False, "0": False}


def _boolean(field: str, value: object) -> bool:
    """Cinder's parameter_types.boolean: a JSON boolean or one of its words for one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise _invalid(field, value, f"{value!r} is not of type 'boolean', 'string'")


def snapshot_create(body: object) -> dict[str, Any]:
    """Cinder's snapshot create: the volume's id (required), force, name/display_name, description, metadata."""
    fields = _envelope(body, "snapshot")
    volume_id = fields.get("volume_id")
    if not isinstance(volume_id, str) or not volume_id:
        raise _invalid("volume_id", volume_id, f"{volume_id!r} is not of type 'string'")
    out: dict[str, Any] = {"volume_id": volume_id, "force": _boolean("force", fields.get("force", False))}
    for key in ("name", "description"):
        _text(fields, key, out)
    if "display_name" in fields and "name" not in out:
        _text({"name": fields["display_name"]}, "name", out)
    if fields.get("metadata") is not None:
        out["metadata"] = _metadata(fields["metadata"])
    return out


def snapshot_update(body: object) -> dict[str, Any]:
    fields = _envelope(body, "snapshot")
    out: dict[str, Any] = {}
    for key in ("name", "description"):
        _text(fields, key, out)
    if "display_name" in fields:
        _text({"name": fields["display_name"]}, "name", out)
    if "display_description" in fields:
        _text({"description": fields["display_description"]}, "description", out)
    if not out:
        raise BadRequest("Invalid input received: At least one of name or description must be given.")
    return out
