"""The volume agent's reconciler: make the host's volume files match the desired state, then report each one.

Level-triggered, as compute's: each pass compares what the controller wants with what the driver holds. A wanted
volume that is missing is created (blank, from its image, which is downloaded for that one operation, or as a
full copy of another volume of the host or of its snapshot, re-encrypted under its own key); an
unwanted one is deleted and reported `gone`; a whole desired state (at start, and at each resync) also deletes
the files no volume of this host names (orphans). A volume's key is fetched for the operation that needs it and
dropped right after.

A volume's pending snapshots ride on its desired state: once the volume exists, each wanted one is taken inside
its file (under the volume's key) and reported `available`, each unwanted one dropped and reported `gone`. Both are
idempotent on the driver, so a snapshot cut short by a restart is finished, and reported, exactly once. A volume
smaller than its desired size is grown to it (an extend), under the same rule.

A PermanentError (the driver refuses the size, the image can never be had) reports the volume `error` with the
message as its reason, and is not tried again until its desired state changes; anything else is retried with
backoff while the volume stays `creating`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from andromede.agentlib.backoff import Backoff, RetryBook
from andromede.agentlib.errors import PermanentError, TemporaryError
from andromede.agentlib.runner import Desired
from andromede.contracts import summary
from andromede.contracts.volume import SnapshotDesired, VolumeDesired, VolumesDocument
from andromede.volume.agent.drivers.base import ImageFormat, VolumeDriver, VolumeDriverError

log = logging.getLogger("andromede.agent.volume")
VOLUME_BACKOFF = Backoff(first=3.0, factor=2.0, cap=300.0)
_IMAGE_FORMATS: dict[str | None, ImageFormat] = {"raw": "raw", "qcow2": "qcow2", None: "raw"}


class Controller(Protocol):
    """What the reconciler asks of the controller: the agent's VolumeClient, or a test's fake."""

    def desired(self, host: str, since: int, wait: float) -> dict: ...

    def report(self, volume_id: str, status: str, reason: str | None = None) -> None: ...

    def report_snapshot(self, snapshot_id: str, status: str, reason: str | None = None) -> None: ...

    def key(self, volume_id: str) -> bytes: ...

    def download_image(self, volume_id: str, destination: Path) -> None: ...


def on_disk(volume_id: str) -> str:
    """The driver's name of a volume: the canonical form of its id (the API's ids are UUIDs without dashes)."""
    try:
        return str(uuid.UUID(hex=volume_id))
    except ValueError:
        raise PermanentError(f"invalid volume id {volume_id!r}") from None


def parse_volumes(answer: object) -> VolumesDocument:
    try:
        return VolumesDocument.model_validate(answer)
    except ValidationError as exc:
        raise PermanentError(f"the controller's volumes document is invalid: {summary(exc)}") from None


class VolumeReconciler:
    name = "volume"
    observe_every = 5.0
    resync_every = 300.0
    expected_failures: tuple[type[BaseException], ...] = (VolumeDriverError,)

    def __init__(self, host: str, driver: VolumeDriver, controller: Controller, work_dir: Path, *,
                 backoff: Backoff = VOLUME_BACKOFF) -> None:
        self.host = host
        self.driver = driver
        self.controller = controller
        self.work_dir = work_dir  # downloads of source images, each gone once its volume is made
        self._wanted: dict[str, VolumeDesired] = {}
        self._reported: dict[str, int] = {}  # volume id -> the seq whose outcome the controller was told
        self._retries: RetryBook[str] = RetryBook(backoff)
        self._lock = threading.Lock()

    # ---- Reconciler ----

    def host_report(self) -> dict[str, object]:
        return {}

    def fetch(self, since: int, wait: float) -> Desired[VolumesDocument] | None:
        document = parse_volumes(self.controller.desired(self.host, since, wait))
        if not document.full and not document.volumes and document.generation <= since:
            return None
        return Desired(document.generation, document, full=document.full)

    def apply(self, desired: Desired[VolumesDocument]) -> None:
        with self._lock:
            for doc in desired.document.volumes:
                known = self._wanted.get(doc.id)
                if known is None or doc.seq >= known.seq:  # a full answer older than a change already held: skip
                    self._wanted[doc.id] = doc
            if desired.full:
                # Forget only what this snapshot could have seen: a long-poll may have brought in newer volumes.
                listed = {doc.id for doc in desired.document.volumes}
                for volume_id in [v for v, doc in self._wanted.items()
                                  if v not in listed and doc.seq <= desired.generation]:
                    del self._wanted[volume_id]
                self._reported = {key: seq for key, seq in self._reported.items() if key in self._wanted}
                self._delete_orphans()
            self._converge([doc.id for doc in desired.document.volumes])

    def observe(self) -> None:
        with self._lock:
            self._converge(list(self._wanted))

    def close(self) -> None:
        pass

    # ---- the work ----

    def _delete_orphans(self) -> None:
        named = {on_disk(volume_id) for volume_id in self._wanted}
        for stored in self.driver.list_volumes():
            if stored not in named:
                log.info("deleting orphan volume %s (no volume of this host names it)", stored)
                self.driver.delete(stored)

    def _converge(self, volume_ids: Iterable[str]) -> None:
        for volume_id in volume_ids:
            doc = self._wanted.get(volume_id)
            if doc is None or self._reported.get(volume_id) == doc.seq:
                continue
            if not self._retries.may_attempt(volume_id, doc.seq):
                continue
            try:
                status = self._make_absent(doc) if doc.wanted == "absent" else self._make_present(doc)
            except PermanentError as exc:
                self._retries.hold(volume_id, doc.seq)
                log.error("volume %s: %s; reported in error", volume_id, exc)
                self._tell(doc, "error", str(exc))
            except Exception as exc:  # retried: an unknown failure is never given up for good
                failures, pause = self._retries.failed(volume_id, doc.seq)
                log.warning("volume %s: attempt %d failed (%s); next in %.0f s", volume_id, failures, exc, pause,
                            exc_info=None if isinstance(exc, (TemporaryError, OSError)) else exc)
            else:
                self._retries.succeeded(volume_id)
                self._tell(doc, status, None)

    def _tell(self, doc: VolumeDesired, status: str, reason: str | None) -> None:
        try:
            self.controller.report(doc.id, status, reason)
        except Exception as exc:  # told on the next pass: the outcome is level, not an event
            log.warning("volume %s: reporting %s failed (%s)", doc.id, status, exc)
            return
        self._reported[doc.id] = doc.seq
        if status == "gone":
            self._wanted.pop(doc.id, None)
            self._reported.pop(doc.id, None)

    def _make_absent(self, doc: VolumeDesired) -> str:
        self.driver.delete(on_disk(doc.id))
        return "gone"

    def _make_present(self, doc: VolumeDesired) -> str:
        stored = on_disk(doc.id)
        if stored in self.driver.list_volumes():
            info = self.driver.describe(stored)
            if info.size_gib > doc.size or info.encrypted != doc.encrypted:
                raise PermanentError(f"volume {doc.id} exists on this host with another size or encryption")
            if info.size_gib < doc.size:  # an extend (done before a restart cut its report short: nothing to do)
                self._extend(doc, stored)
            self._converge_snapshots(doc, stored)
            return "available"
        self.driver.delete(stored)  # what a create cut short (the agent killed) left behind
        key = self.controller.key(doc.id) if doc.encrypted else None
        try:
            if doc.clone_of is not None:
                self._copy(doc, stored, key)
            elif doc.source is None:
                self.driver.create(stored, doc.size, key=key)
            else:
                self._from_image(doc, stored, key)
        finally:
            del key
        log.info("volume %s made (%d GiB%s)", doc.id, doc.size, ", encrypted" if doc.encrypted else "")
        self._converge_snapshots(doc, stored)
        return "available"

    def _copy(self, doc: VolumeDesired, stored: str, key: bytes | None) -> None:
        """A full copy of another volume of this host (now, or as its snapshot holds it) under this one's key."""
        clone_of = doc.clone_of
        assert clone_of is not None
        source = on_disk(clone_of.volume_id)
        source_key = self.controller.key(clone_of.volume_id) if doc.encrypted else None
        try:
            if clone_of.snapshot_id is None:
                self.driver.clone(stored, source, source_key=source_key, key=key, size_gib=doc.size)
            else:
                self.driver.create_from_snapshot(stored, source, on_disk(clone_of.snapshot_id), source_key=source_key,
                                                 key=key, size_gib=doc.size)
        finally:
            del source_key

    def _extend(self, doc: VolumeDesired, stored: str) -> None:
        key = self.controller.key(doc.id) if doc.encrypted else None
        try:
            self.driver.extend(stored, doc.size, key=key)
        finally:
            del key
        log.info("volume %s grown to %d GiB", doc.id, doc.size)

    def _converge_snapshots(self, doc: VolumeDesired, stored: str) -> None:
        """Take or drop each pending snapshot, then report it. A snapshot the driver refuses for good is reported
        in error and the others go on; anything else (or a report that did not get through) retries the volume's
        whole pass, which finds done what was done."""
        if not doc.snapshots:
            return
        held = set(self.driver.describe(stored).snapshots)
        key = self.controller.key(doc.id) if doc.encrypted else None
        try:
            for snapshot in doc.snapshots:
                self._converge_snapshot(doc, stored, snapshot, held, key)
        finally:
            del key

    def _converge_snapshot(self, doc: VolumeDesired, stored: str, snapshot: SnapshotDesired, held: set[str],
                           key: bytes | None) -> None:
        name = on_disk(snapshot.id)
        try:
            if snapshot.wanted == "present":
                if name not in held:
                    self.driver.snapshot(stored, name, key=key)
                    log.info("volume %s: snapshot %s taken", doc.id, snapshot.id)
                status = "available"
            else:
                if name in held:
                    self.driver.delete_snapshot(stored, name, key=key)
                    log.info("volume %s: snapshot %s deleted", doc.id, snapshot.id)
                status = "gone"
        except PermanentError as exc:
            log.error("volume %s: snapshot %s: %s; reported in error", doc.id, snapshot.id, exc)
            self.controller.report_snapshot(snapshot.id, "error", str(exc))
            return
        self.controller.report_snapshot(snapshot.id, status, None)

    def _from_image(self, doc: VolumeDesired, stored: str, key: bytes | None) -> None:
        assert doc.source is not None
        image_format = _IMAGE_FORMATS.get(doc.source.disk_format)
        if image_format is None:
            raise PermanentError(f"image {doc.source.id} is {doc.source.disk_format}: a volume is made from a raw "
                                 "or qcow2 image")
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        download = self.work_dir / f".{doc.id}.{uuid.uuid4().hex}.image"
        try:
            self.controller.download_image(doc.id, download)
            self.driver.create_from_image(stored, download, image_format, doc.size, key=key)
        finally:
            download.unlink(missing_ok=True)
