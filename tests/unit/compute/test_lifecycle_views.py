"""What a server's view says of its lock and disk config, by microversion: `locked` from 2.9, `locked_reason` from
2.73 (null unless locked), OS-DCF:diskConfig always; and a rebuilding server is REBUILD whatever its vm state."""

from __future__ import annotations

import json

import pytest

from andromede.compute.servers import status_of
from andromede.compute.views import Views
from tests.unit.compute.test_views import VIEWS, _checked, _ctx, _instance


def _document(version: tuple[int, int], **changes: object) -> dict:
    view = Views(VIEWS.base, version).server(_instance(**changes), _ctx(admin=False))
    _checked(view)
    return json.loads(view.model_dump_json(by_alias=True))


def test_the_lock_is_not_shown_at_2_1() -> None:
    document = _document((2, 1), locked=True, locked_by="owner", locked_reason="maintenance")
    assert "locked" not in document and "locked_reason" not in document


def test_locked_from_2_9_and_its_reason_from_2_73() -> None:
    assert _document((2, 9), locked=True, locked_reason="maintenance")["locked"] is True
    assert "locked_reason" not in _document((2, 72), locked=True, locked_reason="maintenance")
    shown = _document((2, 73), locked=True, locked_reason="maintenance")
    assert (shown["locked"], shown["locked_reason"]) == (True, "maintenance")
    unlocked = _document((2, 73), locked=False, locked_reason=None)
    assert (unlocked["locked"], unlocked["locked_reason"]) == (False, None)


@pytest.mark.parametrize("disk_config", ["AUTO", "MANUAL"])
def test_disk_config_is_the_servers(disk_config: str) -> None:
    assert _document((2, 1), disk_config=disk_config)["OS-DCF:diskConfig"] == disk_config


@pytest.mark.parametrize("vm_state", ["active", "stopped", "error"])
def test_a_rebuilding_server_is_rebuild(vm_state: str) -> None:
    assert status_of(_instance(vm_state=vm_state, task_state="rebuilding")) == "REBUILD"
    assert _document((2, 1), vm_state=vm_state, task_state="rebuilding")["status"] == "REBUILD"
