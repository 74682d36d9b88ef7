"""Receiving image data: claim the image, stream to disk while hashing, inspect, then activate or roll back."""

from __future__ import annotations

from collections.abc import AsyncIterator

from anyio import CancelScope
from starlette.concurrency import run_in_threadpool

from andromede.common.clock import utcnow
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, PayloadTooLarge
from andromede.db.engine import Database
from andromede.image import formats, quotas, service
from andromede.image.models import Image
from andromede.image.quotas import ImageLimits
from andromede.image.store import ImageStore, Upload


class ImageUploads:
    def __init__(self, settings: Settings, db: Database, store: ImageStore) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.limits = ImageLimits.from_settings(settings)

    async def receive(self, ctx: RequestContext, image_id: str, chunks: AsyncIterator[bytes], *,
                      declared_size: int | None = None) -> None:
        """Store an image's data. Whatever refuses it (quota, format, a broken stream) leaves no file behind,
        the image queued again and the project's usage as it was. Only the stream is read on the event loop:
        the database, the disk and the inspection run in worker threads."""
        declared, owner, remaining = await run_in_threadpool(self._claim, ctx, image_id, declared_size)
        upload = await run_in_threadpool(self.store.begin, image_id)
        try:
            async for chunk in chunks:
                if upload.size + len(chunk) > self.settings.image_size_cap_bytes:
                    raise PayloadTooLarge(f"Image data exceeds the {self.settings.image_size_cap_bytes} byte limit.")
                if remaining is not None and upload.size + len(chunk) > remaining:
                    raise quotas.storage_full(upload.size + len(chunk), remaining)
                if chunk:
                    await run_in_threadpool(upload.write, chunk)
            await run_in_threadpool(upload.close)
            if upload.size == 0:
                raise BadRequest("The image data is empty.")
            inspection = await run_in_threadpool(formats.inspect, upload.path, declared,
                                                 max_virtual_size=self.settings.image_virtual_size_cap_bytes)
            await run_in_threadpool(self._activate, upload, image_id, owner, inspection)
        except formats.UnsafeImage as exc:
            await run_in_threadpool(self._roll_back, upload, image_id, stored=False)
            raise BadRequest(f"Image rejected: {exc}") from None
        except BaseException:
            # Shielded: an upload cancelled because its client went away must still roll back.
            with CancelScope(shield=True):
                await run_in_threadpool(self._roll_back, upload, image_id, stored=True)
            raise

    def _claim(self, ctx: RequestContext, image_id: str, declared_size: int | None) -> tuple[str, str, int | None]:
        """The image, now saving: its declared disk format, its owner, and the owner's storage left (None: no cap)."""
        with self.db.session() as session:
            image = service.claim_upload(session, ctx, image_id, limits=self.limits, declared_size=declared_size)
            return image.disk_format or "raw", image.owner, quotas.storage_remaining(session, self.limits, image.owner)

    def _activate(self, upload: Upload, image_id: str, owner: str, inspection: formats.Inspection) -> None:
        with self.db.session() as session:
            # Other uploads of the project may have landed meanwhile: the quota holds for what is stored.
            quotas.lock_project(session, owner)
            quotas.check_storage(session, self.limits, owner, upload.size)
            row = session.get(Image, image_id)
            if row is None:  # deleted while we were receiving it
                upload.discard()
                return
            self.store.commit(upload, image_id)
            row.status = "active"
            row.size = upload.size
            row.virtual_size = inspection.virtual_size
            row.checksum = upload.md5.hexdigest()
            row.os_hash_algo = "sha512"
            row.os_hash_value = upload.sha512.hexdigest()
            row.updated_at = utcnow()

    def _roll_back(self, upload: Upload, image_id: str, *, stored: bool) -> None:
        upload.discard()
        if stored:
            # A queued image has no data: a file under its id can only be the one this upload moved in place.
            self.store.delete(image_id)
        self._back_to_queued(image_id)

    def _back_to_queued(self, image_id: str) -> None:
        with self.db.session() as session:
            row = session.get(Image, image_id)
            if row is not None and row.status == "saving":
                row.status = "queued"
