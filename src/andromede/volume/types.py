"""Volume types and their encryption (Cinder's types_manage and volume_type_encryption), a cloud admin's to make.

Only LUKS with aes-xts-plain64 is something the storage driver does, so that is the only encryption accepted."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.clock import isotime
from andromede.common.errors import BadRequest, Conflict, NotFound
from andromede.common.ids import new_id
from andromede.volume import service
from andromede.volume.models import Volume, VolumeType

_PROVIDERS = {"luks": "luks", "nova.volume.encryptors.luks.LuksEncryptor": "luks",
              "os_brick.encryptors.luks.LuksEncryptor": "luks"}


def view(vtype: VolumeType) -> dict:
    return {"id": vtype.id, "name": vtype.name, "description": vtype.description, "is_public": vtype.is_public,
            "extra_specs": vtype.extra_specs, "os-volume-type-access:is_public": vtype.is_public,
            "qos_specs_id": None}


def encryption_view(vtype: VolumeType) -> dict:
    if not vtype.encryption_provider:
        return {}
    return {"volume_type_id": vtype.id, "encryption_id": vtype.encryption_id, "provider": vtype.encryption_provider,
            "cipher": vtype.encryption_cipher, "key_size": vtype.encryption_key_size,
            "control_location": vtype.encryption_control_location, "created_at": isotime(vtype.created_at),
            "updated_at": None, "deleted": False, "deleted_at": None}


def _body(body: object, key: str) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Missing required element '{key}' in request body.")
    return body[key]


def _in_use(session: Session, vtype: VolumeType) -> bool:
    return bool(session.scalar(select(func.count(Volume.id)).where(Volume.volume_type_id == vtype.id)))


def create(session: Session, body: object) -> VolumeType:
    fields = _body(body, "volume_type")
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute name. Value: "
                         f"{name}. The name must be a string of 1 to 255 characters")
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        raise BadRequest(f"Invalid input for field/attribute description. Value: {description}.")
    is_public = fields.get("os-volume-type-access:is_public", fields.get("is_public", True))
    if isinstance(is_public, str) and is_public.lower() in ("true", "false"):
        is_public = is_public.lower() == "true"
    if not isinstance(is_public, bool):
        raise BadRequest(f"Invalid value '{is_public}' for is_public. Accepted values: True or False.")
    extra_specs = fields.get("extra_specs") or {}
    if not isinstance(extra_specs, dict) or not all(isinstance(v, str) for v in extra_specs.values()):
        raise BadRequest("Invalid input received: extra_specs must be an object of strings.")
    if session.scalars(select(VolumeType).where(VolumeType.name == name)).first() is not None:
        raise Conflict(f"Volume Type {name} already exists.")
    vtype = VolumeType(id=new_id(), name=name, description=description, is_public=is_public,
                       extra_specs=dict(extra_specs))
    session.add(vtype)
    session.flush()
    return vtype


def delete(session: Session, vtype: VolumeType) -> None:
    if vtype.name == service.DEFAULT_TYPE:
        raise BadRequest("Invalid volume type: Default volume type can not be deleted.")
    if _in_use(session, vtype):
        raise BadRequest("Target volume type is still in use.")
    session.delete(vtype)


def set_encryption(session: Session, vtype: VolumeType, body: object) -> None:
    fields = _body(body, "encryption")
    if vtype.encryption_provider:
        raise BadRequest(f"Volume type encryption for type {vtype.id} already exists.")
    if _in_use(session, vtype):
        raise BadRequest("Cannot create encryption specs. Volume type in use.")
    provider = _PROVIDERS.get(str(fields.get("provider")))
    if provider is None:
        raise BadRequest(f"Invalid input received: provider {fields.get('provider')} is not supported "
                         "(only luks is).")
    cipher = fields.get("cipher") or "aes-xts-plain64"
    if cipher != "aes-xts-plain64":
        raise BadRequest(f"Invalid input received: cipher {cipher} is not supported (only aes-xts-plain64 is).")
    key_size = fields.get("key_size", 512)
    if key_size is None:
        key_size = 512
    if isinstance(key_size, bool) or key_size not in (256, 512):
        raise BadRequest(f"Invalid input received: key_size {key_size} is not supported (256 or 512).")
    control = fields.get("control_location", "front-end")
    if control not in ("front-end", "back-end"):
        raise BadRequest(f"Invalid input for field/attribute control_location. Value: {control}. "
                         f"'{control}' is not one of ['front-end', 'back-end']")
    vtype.encryption_provider, vtype.encryption_cipher, vtype.encryption_key_size = provider, cipher, key_size
    vtype.encryption_control_location, vtype.encryption_id = control, new_id()


def remove_encryption(session: Session, vtype: VolumeType, encryption_id: str) -> None:
    if not vtype.encryption_provider or vtype.encryption_id != encryption_id:
        raise NotFound(f"Volume type encryption for type {vtype.id} does not exist.")
    if _in_use(session, vtype):
        raise BadRequest("Cannot delete encryption specs. Volume type in use.")
    vtype.encryption_provider = vtype.encryption_cipher = vtype.encryption_control_location = None
    vtype.encryption_key_size = None
    vtype.encryption_id = None


def find_for_admin(session: Session, type_id: str) -> VolumeType:
    found = session.get(VolumeType, type_id)
    if found is None:
        raise NotFound(f"Volume type {type_id} could not be found.")
    return found


