from __future__ import annotations

import pytest
from pydantic import ValidationError

from andromede.identity.schemas import AuthRequest, ProjectCreate, UserCreate


@pytest.mark.parametrize("name", ["a\x00b", "line\nbreak", "tab\there", "", " lead", "x" * 256, 5, True])
def test_names_are_strict(name: object) -> None:
    with pytest.raises(ValidationError):
        ProjectCreate(name=name)  # type: ignore[arg-type]


def test_extras_are_kept_but_reserved_keys_are_not() -> None:
    user = UserCreate.model_validate({"name": "ada", "email": "ada@example.org", "id": "forged", "links": {}})
    assert user.extras() == {"email": "ada@example.org"}


def test_auth_request_shapes() -> None:
    AuthRequest.model_validate({"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": "u", "password": "p"}}}, "scope": "unscoped"}})
    AuthRequest.model_validate({"auth": {"identity": {"methods": ["token"], "token": {"id": "t"}},
                                         "scope": {"OS-TRUST:trust": {"id": "x"}}}})
    with pytest.raises(ValidationError):
        AuthRequest.model_validate({"auth": {"identity": {"methods": []}}})
    with pytest.raises(ValidationError):
        AuthRequest.model_validate({"auth": {"identity": {"methods": ["password"]}, "scope": "everything"}})
