"""Barbican v1 request bodies, checked as Barbican's validators check them, with Barbican's words.

Barbican validates with JSON schemas and a few rules after them; its 400s read "Provided object does not match
schema 'Secret': <reason>. Invalid property: '<property>'", which clients show as is. The parsed bodies are the
frozen dataclasses below."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from andromede.common.clock import utcnow
from andromede.common.errors import BadRequest, PayloadTooLarge

__all__ = ["BadRequest", "InvalidObject", "TooLarge"]

SECRET_TYPES = ("symmetric", "passphrase", "private", "public", "certificate", "opaque")
# Barbican's mime_types: what a payload may be, and the encodings each type takes in a JSON body.
PLAIN_TEXT = ("text/plain", "text/plain;charset=utf-8", "text/plain; charset=utf-8")
BINARY = ("application/octet-stream", "application/pkcs8")
SUPPORTED = PLAIN_TEXT + BINARY
SMALLINT_MAX = 32767
KEY_ALGORITHMS = {"aes": (128, 192, 256)}


class InvalidObject(BadRequest):
    def __init__(self, schema: str, reason: str, prop: str | None) -> None:
        super().__init__(f"Provided object does not match schema '{schema}': {reason}. Invalid property: '{prop}'")


class TooLarge(PayloadTooLarge):
    default_message = "Provided information too large to process"


def normal_content_type(content_type: str) -> str:
    return "text/plain" if content_type.lower().replace(" ", "") in ("text/plain", "text/plain;charset=utf-8") \
        else content_type.lower()


@dataclass(frozen=True)
class SecretFields:
    name: str | None = None
    type: str = "opaque"  # Barbican's secret_type
    algorithm: str | None = None
    bit_length: int | None = None
    mode: str | None = None
    expiration: datetime | None = None
    payload: bytes | None = None
    content_type: str | None = None  # of the payload, normalised


def _typed(body: dict, schema: str, key: str, kind: type | tuple[type, ...], *, max_length: int | None = None,
           nullable: bool = False) -> object:
    value = body.get(key)
    if key not in body or (value is None and nullable):
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        expected = "integer" if kind is int else "string"
        raise InvalidObject(schema, f"{value!r} is not of type '{expected}'", key)
    if max_length is not None and isinstance(value, str) and len(value) > max_length:
        raise InvalidObject(schema, f"{value!r} is too long", key)
    return value


def _expiration(raw: object, schema: str) -> datetime | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidObject(schema, "Invalid date for 'expiration'", "expiration") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    if parsed <= utcnow():
        raise InvalidObject(schema, "'expiration' is before current time", "expiration")
    return parsed


def decode_payload(payload: str | bytes, content_type: str, encoding: str | None, schema: str,
                   max_bytes: int) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    if len(raw) > max_bytes:
        raise TooLarge()
    if encoding == "base64":
        try:
            return base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidObject(schema, "Invalid payload for payload_content_encoding", "payload") from None
    return raw


def secret_fields(body: object, *, max_bytes: int, schema: str = "Secret", in_order: bool = False) -> SecretFields:
    """A secret's fields from a POST /v1/secrets body (or an order's `meta`), as Barbican's NewSecretValidator
    accepts them."""
    if not isinstance(body, dict):
        raise InvalidObject(schema, f"{body!r} is not of type 'object'", None)
    name = _typed(body, schema, "name", str, max_length=255, nullable=True)
    algorithm = _typed(body, schema, "algorithm", str, max_length=255)
    mode = _typed(body, schema, "mode", str, max_length=255)
    bit_length = _typed(body, schema, "bit_length", int)
    if isinstance(bit_length, int) and not 1 <= bit_length <= SMALLINT_MAX:
        raise InvalidObject(schema, f"{bit_length} is not a valid bit length", "bit_length")
    expiration_raw = _typed(body, schema, "expiration", str, max_length=255)
    payload = _typed(body, schema, "payload", str)
    secret_type = _typed(body, schema, "secret_type", str, max_length=80) or "opaque"
    if secret_type not in SECRET_TYPES:
        raise InvalidObject(schema, f"{secret_type!r} is not one of {list(SECRET_TYPES)}", "secret_type")
    content_type = _typed(body, schema, "payload_content_type", str, max_length=255, nullable=True)
    encoding = _typed(body, schema, "payload_content_encoding", str, max_length=255)
    if encoding is not None and encoding != "base64":
        raise InvalidObject(schema, f"{encoding!r} is not one of ['base64']", "payload_content_encoding")
    expiration = _expiration(expiration_raw, schema)
    decoded: bytes | None = None
    if payload is not None:
        assert isinstance(payload, str)
        if content_type is None:
            raise InvalidObject(schema, "If 'payload' is supplied, 'payload_content_type' must also be supplied.",
                                "payload_content_type")
        assert isinstance(content_type, str)
        _supported(content_type, schema)
        normal = normal_content_type(content_type)
        if normal == "text/plain" and encoding is not None:
            raise InvalidObject(schema, "payload_content_encoding is not one of None", "payload_content_encoding")
        if normal != "text/plain" and encoding is None:
            raise InvalidObject(schema, "payload_content_encoding is not one of ['base64', 'binary']",
                                "payload_content_encoding")
        if len(payload.encode()) > max_bytes:
            raise TooLarge()
        if not payload.strip():
            raise InvalidObject(schema, "If 'payload' specified, must be non empty", "payload")
        decoded = decode_payload(payload.strip(), normal, encoding if isinstance(encoding, str) else None, schema,
                                 max_bytes)
        if not decoded:
            raise InvalidObject(schema, "If 'payload' specified, must be non empty", "payload")
    elif content_type is not None:
        if not in_order:
            raise InvalidObject(schema, "payload must be provided when payload_content_type is specified",
                                "payload")
        assert isinstance(content_type, str)
        _supported(content_type, schema)
    return SecretFields(
        name=name.strip() if isinstance(name, str) else None, type=str(secret_type),
        algorithm=algorithm if isinstance(algorithm, str) else None,
        bit_length=bit_length if isinstance(bit_length, int) else None,
        mode=mode if isinstance(mode, str) else None, expiration=expiration, payload=decoded,
        content_type=normal_content_type(content_type) if isinstance(content_type, str) else None)


def _supported(content_type: str, schema: str) -> None:
    if content_type.lower().replace(" ", "") not in {t.replace(" ", "") for t in SUPPORTED}:
        raise InvalidObject(schema, f"payload_content_type is not one of {list(SUPPORTED)}", "payload_content_type")


@dataclass(frozen=True)
class KeyOrder:
    secret: SecretFields
    meta: dict


def key_order(body: object, *, max_bytes: int) -> KeyOrder:
    """A POST /v1/orders body: Barbican's TypeOrderValidator for `key` orders (asymmetric ones are not served).
    Only keys we can make are accepted, so an order never ends in ERROR after its 202."""
    if not isinstance(body, dict):
        raise InvalidObject("Order", f"{body!r} is not of type 'object'", None)
    kind, meta = body.get("type"), body.get("meta")
    if not isinstance(kind, str) or kind.lower() not in ("key", "asymmetric"):
        raise InvalidObject("Order", f"{kind!r} is not one of ['key', 'asymmetric']", "type")
    if not isinstance(meta, dict):
        raise InvalidObject("Order", f"{meta!r} is not of type 'object'", "meta")
    if kind.lower() == "asymmetric":
        raise BadRequest("Feature not implemented for 'asymmetric' order type")
    fields = secret_fields(meta, max_bytes=max_bytes, schema="Secret' within 'Order", in_order=True)
    if "payload" in meta:
        raise InvalidObject("Order", "'payload' not allowed for key type order", "meta")
    if not fields.algorithm:
        raise InvalidObject("Order", "'algorithm' is required field for key type order", "meta")
    if not fields.bit_length:
        raise InvalidObject("Order", "'bit_length' is required field for key type order", "meta")
    sizes = KEY_ALGORITHMS.get(fields.algorithm.lower())
    if sizes is None or fields.bit_length not in sizes:
        raise BadRequest(f"Provided field value is not supported: algorithm {fields.algorithm!r} with bit_length "
                         f"{fields.bit_length} (aes: 128, 192 or 256).")
    kept = {k: v for k, v in meta.items() if k in ("name", "algorithm", "bit_length", "mode", "expiration",
                                                      "payload_content_type")}
    return KeyOrder(fields, kept)


_URL_SAFE = re.compile(r"^[A-Za-z0-9_-]*$")


def _metadata_key(key: object) -> str:
    if not isinstance(key, str):
        raise BadRequest("Invalid Metadata. Keys and Values must be Strings.")
    if not _URL_SAFE.match(key):
        raise BadRequest("Invalid Key. Key must be URL safe.")
    return key.lower()


def metadata_body(body: object) -> dict[str, str]:
    """A PUT /metadata body, {"metadata": {key: value}}: keys URL-safe (lowercased), values strings."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise InvalidObject("SecretMetadata", "'metadata' is a required property", "metadata")
    parsed: dict[str, str] = {}
    for key, value in body["metadata"].items():
        if not isinstance(value, str):
            raise BadRequest("Invalid Metadata. Keys and Values must be Strings.")
        parsed[_metadata_key(key)] = value
    return parsed


def metadatum_body(body: object) -> tuple[str, str]:
    """A POST /metadata or PUT /metadata/{key} body, {"key": ..., "value": ...}."""
    if not isinstance(body, dict):
        raise InvalidObject("SecretMetadatum", f"{body!r} is not of type 'object'", None)
    extra = set(body) - {"key", "value"}
    if extra:
        raise InvalidObject("SecretMetadatum", f"Additional properties are not allowed ({sorted(extra)[0]!r} was "
                            "unexpected)", None)
    for name in ("key", "value"):
        value = body.get(name)
        if not isinstance(value, str):
            raise InvalidObject("SecretMetadatum", f"{value!r} is not of type 'string'", name)
        if len(value) > 255:
            raise InvalidObject("SecretMetadatum", f"{value!r} is too long", name)
    return _metadata_key(body["key"]), str(body["value"])


def acl_body(body: object) -> dict[str, tuple[bool | None, list[str] | None]]:
    """A PUT/PATCH /acl body: {"read": {"users": [...], "project-access": bool}} → {"read": (access, users)}."""
    if not isinstance(body, dict):
        raise InvalidObject("ACL", f"{body!r} is not of type 'object'", None)
    parsed: dict[str, tuple[bool | None, list[str] | None]] = {}
    for operation, value in body.items():
        if operation != "read":
            raise InvalidObject("ACL", f"Additional properties are not allowed ({operation!r} was unexpected)",
                                None)
        if not isinstance(value, dict):
            raise InvalidObject("ACL", f"{value!r} is not of type 'object'", "read")
        extra = set(value) - {"users", "project-access"}
        if extra:
            raise InvalidObject("ACL", f"Additional properties are not allowed ({sorted(extra)[0]!r} was "
                                "unexpected)", "read")
        access = value.get("project-access")
        if access is not None and not isinstance(access, bool):
            raise InvalidObject("ACL", f"{access!r} is not of type 'boolean'", "read")
        users = value.get("users")
        if users is not None and (not isinstance(users, list)
                                  or not all(isinstance(u, str) and len(u) <= 255 for u in users)):
            raise InvalidObject("ACL", f"{users!r} is not a list of user ids", "read")
        parsed[operation] = (access, list(dict.fromkeys(users)) if users is not None else None)
    return parsed
