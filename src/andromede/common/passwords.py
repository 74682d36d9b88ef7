"""Password and secret hashing with argon2id at no less than OWASP's minimum (m=19 MiB, t=2, p=1): users' passwords,
application credential secrets, volume transfer keys."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user does not exist, so unknown and known users cost the same.
_DUMMY_HASH = _HASHER.hash("andromede-timing-equaliser")


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
