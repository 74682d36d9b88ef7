"""Barbican's validation of secret and order bodies, with its messages."""

from __future__ import annotations

import pytest

from andromede.common.errors import ApiError
from andromede.kms import schemas

MAX = 10000


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"payload": "x"}, 400, "'payload_content_type' must also be supplied"),
    ({"payload": "x", "payload_content_type": "text/html"}, 400, "payload_content_type is not one of"),
    ({"payload": "!!!", "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"},
     400, "Invalid payload for payload_content_encoding"),
    ({"payload": "AA==", "payload_content_type": "application/octet-stream"}, 400, "payload_content_encoding"),
    ({"payload": "x", "payload_content_type": "text/plain", "payload_content_encoding": "base64"}, 400,
     "payload_content_encoding"),
    ({"payload": "x" * (MAX + 1), "payload_content_type": "text/plain"}, 413, "too large"),
    ({"payload": "   ", "payload_content_type": "text/plain"}, 400, "must be non empty"),
    ({"expiration": "2001-01-01T00:00:00Z"}, 400, "'expiration' is before current time"),
    ({"expiration": "tomorrow"}, 400, "Invalid date for 'expiration'"),
    ({"secret_type": "sword"}, 400, "Invalid property: 'secret_type'"),
    ({"bit_length": "256"}, 400, "Invalid property: 'bit_length'"),
    ({"bit_length": True}, 400, "Invalid property: 'bit_length'"),
    ({"name": 5}, 400, "Invalid property: 'name'"),
    ({"payload_content_type": "text/plain"}, 400, "payload must be provided"),
    ([], 400, "is not of type 'object'"),
])
def test_bad_secrets(body: object, status: int, words: str) -> None:
    with pytest.raises(ApiError) as caught:
        schemas.secret_fields(body, max_bytes=MAX)
    assert caught.value.status == status and words in caught.value.message


def test_good_secrets() -> None:
    text = schemas.secret_fields({"payload": " hello ", "payload_content_type": "text/plain; charset=utf-8"},
                                 max_bytes=MAX)
    assert text.payload == b"hello" and text.content_type == "text/plain" and text.type == "opaque"
    binary = schemas.secret_fields({"payload": "AAEC", "payload_content_type": "application/octet-stream",
                                    "payload_content_encoding": "base64", "secret_type": "symmetric",
                                    "expiration": "2999-01-01T00:00:00+02:00"}, max_bytes=MAX)
    assert binary.payload == b"\x00\x01\x02" and binary.expiration is not None and binary.expiration.hour == 22


@pytest.mark.parametrize(("meta", "words"), [
    ({"algorithm": "aes", "bit_length": 100}, "not supported"),
    ({"algorithm": "aes", "bit_length": 512}, "not supported"),
    ({"algorithm": "des", "bit_length": 128}, "not supported"),
    ({"bit_length": 256}, "'algorithm' is required"),
    ({"algorithm": "aes"}, "'bit_length' is required"),
    ({"algorithm": "aes", "bit_length": 256, "payload": "x", "payload_content_type": "text/plain"}, "not allowed"),
    ({"algorithm": "aes", "bit_length": 256, "expiration": "2000-01-01T00:00:00"}, "before current time"),
])
def test_bad_key_orders(meta: dict, words: str) -> None:
    with pytest.raises(ApiError) as caught:
        schemas.key_order({"type": "key", "meta": meta}, max_bytes=MAX)
    assert caught.value.status == 400 and words in caught.value.message


def test_key_order() -> None:
    order = schemas.key_order({"type": "key", "meta": {"algorithm": "aes", "bit_length": 192, "mode": "cbc",
                                                       "payload_content_type": "application/octet-stream"}},
                              max_bytes=MAX)
    assert order.secret.bit_length == 192 and order.meta["mode"] == "cbc"
