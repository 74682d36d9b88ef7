"""Image ids are never reused, and the per-image and per-project quotas, on a real (temporary) database."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

import andromede.registry  # noqa: F401  (every service's tables, for create_all)
from andromede.common.context import RequestContext
from andromede.common.errors import Conflict, PayloadTooLarge
from andromede.db.base import Base
from andromede.db.engine import Database
from andromede.image import quotas, service
from andromede.image.models import Image, ImageId
from andromede.image.quotas import ImageLimits
from andromede.image.schemas import ImageCreate, PatchOp

LIMITS = ImageLimits()


def _ctx(project: str, *roles: str) -> RequestContext:
    return RequestContext(request_id="r", user_id="u", project_id=project, roles=frozenset(roles or {"member"}))


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(database.engine)
    return database


def _create(db: Database, ctx: RequestContext, limits: ImageLimits = LIMITS, **fields: object) -> str:
    with db.session() as session:
        body = ImageCreate.model_validate({"disk_format": "raw", "container_format": "bare", **fields})
        return service.create(session, ctx, body, limits=limits).id


@pytest.mark.parametrize("who", [_ctx("p1"), _ctx("p2"), _ctx("admin-project", "admin")])
def test_a_deleted_id_is_taken_for_everyone(db: Database, who: RequestContext) -> None:
    image_id = _create(db, _ctx("p1"), name="secret", os_distro="x", tags=["t"])
    with db.session() as session:
        service.delete(session, _ctx("p1"), image_id)
    with db.session() as session:
        assert session.get(Image, image_id) is None
        tombstone = session.get(ImageId, image_id)
        assert tombstone is not None and tombstone.owner == "p1" and tombstone.deleted_at is not None
    with pytest.raises(Conflict, match=f"Image ID {image_id} already exists!"):
        _create(db, who, id=image_id.upper())
    with db.session() as session:
        assert session.get(Image, image_id) is None


def test_count_quota_counts_the_owners_images(db: Database) -> None:
    limits = ImageLimits(count_total=2)
    for _ in range(2):
        _create(db, _ctx("p1"), limits)
    with pytest.raises(PayloadTooLarge, match="image_count_total is over limit of 2 due to current usage 2"):
        _create(db, _ctx("p1"), limits, id=str(uuid.uuid4()))
    _create(db, _ctx("p2"), limits)  # another project's usage is its own
    with db.session() as session:
        assert quotas.image_count(session, "p1") == 2


def test_property_and_tag_quotas(db: Database) -> None:
    limits = ImageLimits(property_quota=3, tag_quota=2, properties_total_bytes=100)
    with pytest.raises(PayloadTooLarge, match=re.escape("image properties. Attempted: 4, Maximum: 3")):
        _create(db, _ctx("p1"), limits, a="1", b="2", c="3", d="4")
    with pytest.raises(PayloadTooLarge, match=re.escape("image tags. Attempted: 3, Maximum: 2")):
        _create(db, _ctx("p1"), limits, tags=["x", "y", "z"])
    with pytest.raises(PayloadTooLarge, match="total size of image properties"):
        _create(db, _ctx("p1"), limits, a="v" * 100)
    _create(db, _ctx("p1"), limits, a="1", b="2", c="3", tags=["x", "x", "y"])  # duplicate tags count once


def test_negative_limits_are_unlimited(db: Database) -> None:
    limits = ImageLimits(count_total=-1, property_quota=-1, properties_total_bytes=-1, size_total_bytes=-1)
    _create(db, _ctx("p1"), limits, **{f"k{i}": "v" * 1000 for i in range(200)})
    with db.session() as session:
        assert quotas.storage_remaining(session, limits, "p1") is None


def test_storage_counts_stored_image_data(db: Database) -> None:
    image_id = _create(db, _ctx("p1"))
    with db.session() as session:
        session.get(Image, image_id).size = 700  # type: ignore[union-attr]
    limits = ImageLimits(size_total_bytes=1000)
    with db.session() as session:
        assert quotas.stored_bytes(session, "p1") == 700
        assert quotas.storage_remaining(session, limits, "p1") == 300
        quotas.check_storage(session, limits, "p1", 300)
        full = re.escape("The size of the data 301 will exceed the limit. 300 bytes")
        with pytest.raises(PayloadTooLarge, match=full):
            quotas.check_storage(session, limits, "p1", 301)


def test_uploads_in_progress_are_bounded(db: Database) -> None:
    limits = ImageLimits(count_uploading=1)
    first, second = _create(db, _ctx("p1")), _create(db, _ctx("p1"))
    with db.session() as session:
        service.claim_upload(session, _ctx("p1"), first, limits=limits)
    over = "image_count_uploading is over limit of 1 due to current usage 2"
    with pytest.raises(PayloadTooLarge, match=over), db.session() as session:
        service.claim_upload(session, _ctx("p1"), second, limits=limits)
    with db.session() as session:
        assert session.get(Image, second).status == "queued"  # type: ignore[union-attr]
        assert quotas.uploading_count(session, "p1") == 1


def test_a_declared_length_over_the_storage_quota_leaves_the_image_queued(db: Database) -> None:
    image_id = _create(db, _ctx("p1"))
    with pytest.raises(PayloadTooLarge, match="storage quota"), db.session() as session:
        service.claim_upload(session, _ctx("p1"), image_id, limits=ImageLimits(size_total_bytes=10),
                             declared_size=11)
    with db.session() as session:
        assert session.get(Image, image_id).status == "queued"  # type: ignore[union-attr]


def test_member_quota(db: Database) -> None:
    limits = ImageLimits(member_quota=2)
    image_id = _create(db, _ctx("p1"))
    with db.session() as session:
        for member in ("m1", "m2"):
            service.add_member(session, _ctx("p1"), image_id, member, limits=limits)
    attempted = re.escape("image members for this image. Attempted: 3, Maximum: 2")
    with pytest.raises(PayloadTooLarge, match=attempted), db.session() as session:
        service.add_member(session, _ctx("p1"), image_id, "m3", limits=limits)
    with db.session() as session:
        assert [row.member for row in service.members(session, _ctx("p1"), image_id)] == ["m1", "m2"]


def test_concurrent_creates_do_not_pass_the_count_quota(db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    limits = ImageLimits(count_total=5)

    def attempt(_: int) -> bool:
        try:
            _create(db, _ctx("p1"), limits)
        except PayloadTooLarge:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(attempt, range(16)))
    assert created.count(True) == 5
    with db.session() as session:
        assert quotas.image_count(session, "p1") == 5


def test_listing_leaves_other_projects_community_images_unless_asked(db: Database) -> None:
    theirs = _create(db, _ctx("p2"), visibility="community", blob="x" * 1000)
    mine = _create(db, _ctx("p1"), visibility="community")
    private = _create(db, _ctx("p1"), visibility="private")
    hidden = _create(db, _ctx("p1"), os_hidden=True)

    def listed(**params: str) -> set[str]:
        with db.session() as session:
            page, _ = service.list_images(session, _ctx("p1"), {k: [v] for k, v in params.items()})
            return {image.id for image in page}

    assert listed() == {mine, private}
    assert listed(visibility="community") == {theirs, mine}
    assert listed(visibility="all") == {theirs, mine, private}
    assert listed(os_hidden="true") == {hidden}


def test_an_image_over_a_lowered_limit_can_still_shrink(db: Database) -> None:
    image_id = _create(db, _ctx("p1"), a="1", b="2", c="3", tags=["x", "y", "z"])
    lowered = ImageLimits(property_quota=1, tag_quota=1)
    patch = [PatchOp(op="remove", path="/c"), PatchOp(op="replace", path="/name", value="renamed"),
             PatchOp(op="replace", path="/tags", value=["x", "y"])]
    with db.session() as session:
        image = service.get_owned(session, _ctx("p1"), image_id)
        service.apply_patch(session, _ctx("p1"), image, patch, limits=lowered)
    with pytest.raises(PayloadTooLarge), db.session() as session:
        image = service.get_owned(session, _ctx("p1"), image_id)
        service.apply_patch(session, _ctx("p1"), image, [PatchOp(op="add", path="/d", value="4")], limits=lowered)
    with db.session() as session:
        image = service.get_owned(session, _ctx("p1"), image_id)
        assert image.properties == {"a": "1", "b": "2"} and image.tags == ["x", "y"] and image.name == "renamed"
