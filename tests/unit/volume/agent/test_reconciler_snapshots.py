"""The volume reconciler takes and drops a volume's pending snapshots, reports each once, and survives a restart
or a lost report without doing anything twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from andromede.volume.agent.drivers.base import PermanentVolumeError
from andromede.volume.agent.drivers.fake import FakeVolumeDriver
from andromede.volume.agent.reconciler import VolumeReconciler, on_disk
from tests.unit.volume.agent.test_reconciler import KEY, NO_WAIT, FakeController, Parts, _desired, _doc


@pytest.fixture()
def parts(tmp_path: Path) -> Parts:
    driver, controller = FakeVolumeDriver(), FakeController()
    return VolumeReconciler("h1", driver, controller, tmp_path / "images", backoff=NO_WAIT), driver, controller


def _made(parts: Parts) -> str:
    reconciler, _, _ = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid), full=True))
    return vid


def test_a_wanted_snapshot_is_taken_inside_the_volume_and_reported_once(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid, sid = _made(parts), uuid.uuid4().hex
    driver.write(on_disk(vid), 0, b"before", key=KEY)
    reconciler.apply(_desired(_doc(vid, seq=2, snapshots=({"id": sid, "wanted": "present"},)), generation=2))
    assert driver.describe(on_disk(vid)).snapshots == (on_disk(sid),)
    reconciler.observe()
    reconciler.apply(_desired(_doc(vid, seq=2, snapshots=({"id": sid, "wanted": "present"},)), generation=3))
    assert controller.snapshot_reports == [(sid, "available", None)]


def test_an_unwanted_snapshot_is_dropped_and_reported_gone(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid, sid = _made(parts), uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid, seq=2, snapshots=({"id": sid, "wanted": "present"},)), generation=2))
    reconciler.apply(_desired(_doc(vid, seq=3, snapshots=({"id": sid, "wanted": "absent"},)), generation=3))
    assert driver.describe(on_disk(vid)).snapshots == ()
    assert controller.snapshot_reports == [(sid, "available", None), (sid, "gone", None)]


def test_a_lost_report_is_retried_without_taking_the_snapshot_twice(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid, sid = _made(parts), uuid.uuid4().hex
    controller.failing_snapshot_reports = 1
    reconciler.apply(_desired(_doc(vid, seq=2, snapshots=({"id": sid, "wanted": "present"},)), generation=2))
    assert controller.snapshot_reports == []
    reconciler.observe()
    assert controller.snapshot_reports == [(sid, "available", None)]
    assert driver.describe(on_disk(vid)).snapshots == (on_disk(sid),)


def test_a_restarted_agent_finds_the_snapshot_taken_and_only_reports_it(parts: Parts, tmp_path: Path) -> None:
    """The agent was killed after the snapshot and before its report: the new one reports it, takes nothing."""
    _, driver, controller = parts
    vid, sid = _made(parts), uuid.uuid4().hex
    driver.snapshot(on_disk(vid), on_disk(sid), key=KEY)
    restarted = VolumeReconciler("h1", driver, controller, tmp_path / "again", backoff=NO_WAIT)
    restarted.apply(_desired(_doc(vid, seq=2, snapshots=({"id": sid, "wanted": "present"},)), generation=2,
                             full=True))
    assert driver.describe(on_disk(vid)).snapshots == (on_disk(sid),)
    assert controller.snapshot_reports == [(sid, "available", None)]


def test_a_snapshot_the_driver_refuses_is_reported_in_error_and_the_others_go_on(tmp_path: Path) -> None:
    class Refusing(FakeVolumeDriver):
        def snapshot(self, volume_id: str, snapshot_id: str, *, key: bytes | None) -> None:
            if snapshot_id.startswith("0"):
                raise PermanentVolumeError("no room for a snapshot")
            super().snapshot(volume_id, snapshot_id, key=key)

    driver, controller = Refusing(), FakeController()
    reconciler = VolumeReconciler("h1", driver, controller, tmp_path, backoff=NO_WAIT)
    vid = uuid.uuid4().hex
    bad, good = "0" + uuid.uuid4().hex[1:], "1" + uuid.uuid4().hex[1:]
    reconciler.apply(_desired(_doc(vid, snapshots=({"id": bad, "wanted": "present"},
                                                   {"id": good, "wanted": "present"})), full=True))
    assert controller.snapshot_reports == [(bad, "error", "no room for a snapshot"), (good, "available", None)]
    assert controller.reports == [(vid, "available", None)]


def test_a_bigger_desired_size_grows_the_volume_once(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid = _made(parts)
    reconciler.apply(_desired(_doc(vid, seq=2, size=3), generation=2))
    assert driver.describe(on_disk(vid)).size_gib == 3
    restarted = VolumeReconciler("h1", driver, controller, reconciler.work_dir, backoff=NO_WAIT)
    restarted.apply(_desired(_doc(vid, seq=2, size=3), generation=2, full=True))  # grown already: only reported
    assert driver.describe(on_disk(vid)).size_gib == 3
    assert controller.reports == [(vid, "available", None)] * 3


def test_a_smaller_desired_size_is_an_error_and_the_file_is_kept(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid, size=2), full=True))
    reconciler.apply(_desired(_doc(vid, seq=2, size=1), generation=2))
    assert driver.describe(on_disk(vid)).size_gib == 2
    assert controller.reports[-1][1] == "error"


def test_a_clone_and_a_volume_from_a_snapshot_are_full_copies_under_their_own_key(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid, sid = _made(parts), uuid.uuid4().hex
    driver.write(on_disk(vid), 0, b"frozen", key=KEY)
    reconciler.apply(_desired(_doc(vid, seq=2, snapshots=({"id": sid, "wanted": "present"},)), generation=2))
    driver.write(on_disk(vid), 0, b"later!", key=KEY)
    from_snapshot, clone = uuid.uuid4().hex, uuid.uuid4().hex
    reconciler.apply(_desired(_doc(from_snapshot, seq=3, size=2, clone_of={"volume_id": vid, "snapshot_id": sid}),
                              _doc(clone, seq=3, clone_of={"volume_id": vid}), generation=3))
    assert driver.read(on_disk(from_snapshot), 0, 6, key=KEY) == b"frozen"
    assert driver.describe(on_disk(from_snapshot)).size_gib == 2
    assert driver.read(on_disk(clone), 0, 6, key=KEY) == b"later!"
    assert driver.describe(on_disk(clone)).snapshots == ()
    assert (from_snapshot, "available", None) in controller.reports and (clone, "available", None) in controller.reports


def test_a_copy_of_a_volume_missing_from_the_host_is_an_error(parts: Parts) -> None:
    reconciler, _, controller = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid, clone_of={"volume_id": uuid.uuid4().hex}), full=True))
    assert controller.reports[-1][:2] == (vid, "error")
