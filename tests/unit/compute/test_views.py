"""compute/views.py builds its View models unvalidated (View.trusted), for speed: these tests hold views built so
to the declared shapes, strictly, and to what model_construct and the JSON on the wire make of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from andromede.common.context import RequestContext
from andromede.compute import schemas as v
from andromede.compute.models import Flavor, Instance, KeyPair
from andromede.compute.views import Views

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
VIEWS = Views("http://cloud.test/compute")


def _instance(**changes: object) -> Instance:
    fields: dict = dict(uuid="0b6f1a52-5d0c-4b0e-9a86-3c1c2d9e7f10", name="web-1", project_id="p" * 32,
                        user_id="u" * 32, created_at=NOW, updated_at=NOW, host="host-1", image_id="img-1",
                        flavor_id="1", meta={"role": "web"}, access_ip_v4="192.0.2.7", access_ip_v6=None,
                        key_name="k", launched_at=NOW, terminated_at=None, availability_zone="nova",
                        task_state=None, vm_state="active", power_state=1, config_drive=True, fault=None,
                        desired_power="running")
    return Instance(**{**fields, **changes})


def _ctx(*, admin: bool) -> RequestContext:
    return RequestContext(request_id="req", user_id="u", project_id=None if admin else "p", system_scope=admin,
                          roles=frozenset({"admin"} if admin else {"member"}))


def _checked(view: v.View) -> None:
    """The trusted view passes strict validation of its own document, and equals what validation builds."""
    document = view.model_dump(by_alias=True)
    validated = type(view).model_validate(document)
    assert validated.model_dump(by_alias=True) == document
    assert validated.model_dump_json(by_alias=True) == view.model_dump_json(by_alias=True)
    constructed = type(view).model_construct(**view.__dict__)
    assert constructed.model_dump_json(by_alias=True) == view.model_dump_json(by_alias=True)


@pytest.mark.parametrize("admin", [False, True])
def test_server_views_hold_their_declared_shape(admin: bool) -> None:
    view = VIEWS.server(_instance(), _ctx(admin=admin),
                        {"net": [{"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed"}]},
                        [{"name": "default"}])
    assert type(view) is (v.AdminServerView if admin else v.ServerView)
    _checked(view)
    document = json.loads(view.model_dump_json(by_alias=True))
    assert document["accessIPv4"] == "192.0.2.7" and document["accessIPv6"] == ""
    assert document["progress"] == 100 and "fault" not in document
    assert ("OS-EXT-SRV-ATTR:host" in document) is admin


def test_a_failed_server_shows_its_fault_and_no_progress() -> None:
    view = VIEWS.server(_instance(vm_state="error", fault={"code": 500, "message": "No valid host"}), _ctx(admin=False))
    _checked(view)
    document = json.loads(view.model_dump_json(by_alias=True))
    assert document["fault"] == {"code": 500, "message": "No valid host"}
    assert "progress" not in document and "security_groups" not in document


def test_summaries_created_flavors_and_keypairs_hold_their_declared_shapes() -> None:
    row = _instance()
    flavor = Flavor(id="1", name="m1.tiny", ram=512, vcpus=1, disk=1, swap=0, ephemeral=0, disabled=False,
                    is_public=True, rxtx_factor=1.0)
    pair = KeyPair(id=3, name="k", public_key="ssh-ed25519 AAAA", fingerprint="aa:bb", user_id="u", created_at=NOW)
    for view in (VIEWS.server_summary(row), VIEWS.server_created(row, None), VIEWS.server_created(row, "secret"),
                 VIEWS.flavor(flavor), VIEWS.flavor(flavor, detail=False), VIEWS.keypair(pair),
                 VIEWS.keypair_summary(pair), VIEWS.keypair_created(pair, None), VIEWS.keypair_created(pair, "PEM")):
        _checked(view)
    assert "adminPass" not in VIEWS.server_created(row, None).model_dump(by_alias=True)


def test_a_trusted_view_lacking_a_field_is_refused_by_validation() -> None:
    document = VIEWS.server(_instance(), _ctx(admin=False)).model_dump(by_alias=True)
    del document["hostId"]
    with pytest.raises(ValueError, match="hostId"):
        v.ServerView.model_validate(document)


def test_a_page_is_the_json_fastapi_would_have_sent() -> None:
    views = [VIEWS.server(_instance(), _ctx(admin=True))]
    page = v.AdminServerPage.trusted(servers=views, servers_links=[v.Link(rel="next", href="http://x/servers?a=b")])
    expected = {"servers": [views[0].model_dump(by_alias=True)],
                "servers_links": [{"rel": "next", "href": "http://x/servers?a=b"}]}
    assert page.model_dump_json(by_alias=True).encode() == json.dumps(
        expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert "servers_links" not in v.ServerPage.trusted(servers=[], servers_links=None).model_dump(by_alias=True)
