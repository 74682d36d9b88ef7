"""A report carries only what the controller has not been told; what failed to go out is sent again."""

from __future__ import annotations

from andromede.agentlib.reports import LastReported


def test_only_what_changed_is_reported_and_a_forgotten_key_is_reported_again() -> None:
    reported: LastReported[str, str | None] = LastReported()
    assert reported.changed({"a": "ACTIVE", "b": None}) == {"a": "ACTIVE", "b": None}  # None is a value too
    reported.told({"a": "ACTIVE", "b": None})
    assert reported.changed({"a": "ACTIVE", "b": None}) == {}
    assert reported.changed({"a": "DOWN", "b": None}) == {"a": "DOWN"}
    reported.forget("b")
    assert reported.changed({"b": None}) == {"b": None}


def test_a_report_that_was_not_told_stays_changed() -> None:
    reported: LastReported[str, str] = LastReported()
    changed = reported.changed({"port": "ACTIVE"})  # sending it failed: told() is not called
    assert reported.changed({"port": "ACTIVE"}) == changed == {"port": "ACTIVE"}
