"""The volume reconciler over the fake driver: what it makes, deletes and reports, and how it fails."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from andromede.agentlib.backoff import Backoff
from andromede.agentlib.errors import PermanentError
from andromede.agentlib.runner import Desired
from andromede.contracts.volume import VolumesDocument
from andromede.volume.agent.drivers.base import GIB
from andromede.volume.agent.drivers.fake import FakeVolumeDriver
from andromede.volume.agent.reconciler import VolumeReconciler, on_disk

KEY = bytes(range(64))
NO_WAIT = Backoff(first=0.0, factor=1.0, cap=0.0, jitter=0.0)


class FakeController:
    def __init__(self) -> None:
        self.reports: list[tuple[str, str, str | None]] = []
        self.snapshot_reports: list[tuple[str, str, str | None]] = []
        self.failing_snapshot_reports = 0
        self.keys_given = 0
        self.image = b"\x07" * 4096

    def desired(self, host: str, since: int, wait: float) -> dict:
        raise AssertionError("the tests hand documents to apply() directly")

    def report(self, volume_id: str, status: str, reason: str | None = None) -> None:
        self.reports.append((volume_id, status, reason))

    def report_snapshot(self, snapshot_id: str, status: str, reason: str | None = None) -> None:
        if self.failing_snapshot_reports:
            self.failing_snapshot_reports -= 1
            raise ConnectionError("the controller is unreachable")
        self.snapshot_reports.append((snapshot_id, status, reason))

    def key(self, volume_id: str) -> bytes:
        self.keys_given += 1
        return KEY

    def download_image(self, volume_id: str, destination: Path) -> None:
        destination.write_bytes(self.image)


def _doc(volume_id: str, *, seq: int = 1, wanted: str = "present", size: int = 1, encrypted: bool = True,
         source: dict | None = None, snapshots: tuple[dict, ...] = (), clone_of: dict | None = None) -> dict:
    return {"id": volume_id, "size": size, "encrypted": encrypted, "wanted": wanted, "source": source, "seq": seq,
            "snapshots": list(snapshots), "clone_of": clone_of}


def _desired(*docs: dict, generation: int = 1, full: bool = False) -> Desired[VolumesDocument]:
    return Desired(generation, VolumesDocument.model_validate({"generation": generation, "full": full,
                                                               "volumes": list(docs)}), full=full)


Parts = tuple[VolumeReconciler, FakeVolumeDriver, FakeController]


@pytest.fixture()
def parts(tmp_path: Path) -> Parts:
    driver, controller = FakeVolumeDriver(), FakeController()
    return VolumeReconciler("h1", driver, controller, tmp_path / "images", backoff=NO_WAIT), driver, controller


def test_a_wanted_volume_is_made_encrypted_and_reported_available_once(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid), full=True))
    info = driver.describe(on_disk(vid))
    assert info.size_gib == 1 and info.encrypted
    reconciler.observe()
    reconciler.apply(_desired(_doc(vid), generation=2))
    assert controller.reports == [(vid, "available", None)] and controller.keys_given == 1


def test_a_volume_from_an_image_holds_the_image(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid, source={"id": "img", "disk_format": "raw"}), full=True))
    assert controller.reports == [(vid, "available", None)]
    assert driver.read(on_disk(vid), 0, 4096, key=KEY) == controller.image
    assert not list(reconciler.work_dir.iterdir())  # the download is gone once the volume is made


def test_an_unwanted_volume_is_deleted_and_reported_gone(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid), full=True))
    reconciler.apply(_desired(_doc(vid, seq=2, wanted="absent"), generation=2))
    assert driver.list_volumes() == []
    assert controller.reports[-1] == (vid, "gone", None)


def test_a_full_state_deletes_orphans_and_keeps_what_is_named(parts: Parts) -> None:
    reconciler, driver, controller = parts
    kept, orphan = uuid.uuid4().hex, str(uuid.uuid4())
    driver.create(orphan, 1, key=None)
    driver.create(on_disk(kept), 1, key=KEY)  # made before a restart: reported, not made again
    reconciler.apply(_desired(_doc(kept), full=True))
    assert driver.list_volumes() == [on_disk(kept)]
    assert controller.reports == [(kept, "available", None)] and controller.keys_given == 0


def test_a_stale_full_state_keeps_a_newer_volume_and_its_file(parts: Parts) -> None:
    reconciler, driver, _controller = parts
    newer = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(newer, seq=5), generation=5))  # the long-poll brought it in
    reconciler.apply(_desired(generation=4, full=True))  # a resync read just before it was created
    assert driver.list_volumes() == [on_disk(newer)]
    reconciler.apply(_desired(generation=6, full=True))  # a whole state that should have named it: it is gone
    assert driver.list_volumes() == []


def test_a_permanent_failure_reports_error_and_is_not_retried(parts: Parts) -> None:
    reconciler, _driver, controller = parts
    vid = uuid.uuid4().hex
    reconciler.apply(_desired(_doc(vid, source={"id": "img", "disk_format": "raw"}, size=1), full=True))
    big = uuid.uuid4().hex
    controller.image = b"\x01" * (GIB + 4096)
    reconciler.apply(_desired(_doc(big, source={"id": "img", "disk_format": "raw"}), generation=2))
    assert controller.reports[-1][:2] == (big, "error") and "larger" in (controller.reports[-1][2] or "")
    reconciler.observe()
    assert len([r for r in controller.reports if r[0] == big]) == 1


def test_a_temporary_failure_is_retried_and_the_volume_stays_creating(parts: Parts) -> None:
    reconciler, driver, controller = parts
    vid = uuid.uuid4().hex
    driver.inject_fault("create", "disk busy")
    reconciler.apply(_desired(_doc(vid), full=True))
    assert controller.reports == []  # nothing said: the volume stays creating
    reconciler.observe()  # backoff of 0 s: tried again at once
    assert controller.reports == [(vid, "available", None)]


def test_a_report_that_failed_is_sent_again(parts: Parts) -> None:
    reconciler, _driver, controller = parts
    vid = uuid.uuid4().hex
    calls = {"n": 0}
    real = controller.report

    def flaky(volume_id: str, status: str, reason: str | None = None) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("controller unreachable")
        real(volume_id, status, reason)

    controller.report = flaky  # type: ignore[method-assign]
    reconciler.apply(_desired(_doc(vid), full=True))
    reconciler.observe()
    assert controller.reports == [(vid, "available", None)]


def test_an_invalid_document_is_permanent(parts: Parts) -> None:
    reconciler, _driver, controller = parts
    controller.desired = lambda host, since, wait: {"generation": "x"}  # type: ignore[method-assign]
    with pytest.raises(PermanentError):
        reconciler.fetch(0, 0.0)
