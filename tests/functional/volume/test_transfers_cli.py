"""Volume transfers through the real clients (`openstack volume transfer request create/list/show/accept/delete`):
an encrypted volume given to another project, its key re-wrapped for the taker; what a third project, a wrong
key or the giver afterwards can do (nothing, and nothing changes)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.accounts import Admin, cli_as
from tests.support.server import Server


def _json(result: object) -> dict | list:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def _available(cli, volume_id: str, timeout: float = 180) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        shown = _json(cli("volume", "show", volume_id, "-f", "json"))
        assert isinstance(shown, dict)
        if shown["status"] == "available" or time.monotonic() > deadline:
            assert shown["status"] == "available", shown
            return shown
        time.sleep(0.5)


def test_a_volume_changes_hands_with_its_key(server: Server, admin: Admin, tmp_path: Path) -> None:
    giver = admin.account("member")
    taker = admin.account("member")
    stranger = admin.account("member")
    give, take, peek = (cli_as(server, a, tmp_path) for a in (giver, taker, stranger))
    volume = _json(give("volume", "create", "--size", "1", "gift", "-f", "json"))
    assert isinstance(volume, dict)
    _available(give, volume["id"])

    offer = _json(give("volume", "transfer", "request", "create", "--name", "for-you", volume["id"], "-f", "json"))
    assert isinstance(offer, dict) and len(offer["auth_key"]) == 16 and offer["volume_id"] == volume["id"]
    assert _json(give("volume", "show", volume["id"], "-f", "json"))["status"] == "awaiting-transfer"
    listed = _json(give("volume", "transfer", "request", "list", "-f", "json"))
    assert [t["ID"] for t in listed] == [offer["id"]]
    shown = _json(give("volume", "transfer", "request", "show", offer["id"], "-f", "json"))
    assert shown["name"] == "for-you" and "auth_key" not in shown  # the key is shown once, at creation
    # Offered, not deletable (Cinder's answer).
    assert give("volume", "delete", volume["id"], check=False).returncode != 0  # type: ignore[attr-defined]

    # A third project sees no transfer and cannot take the volume with a guessed key.
    assert _json(peek("volume", "transfer", "request", "list", "-f", "json")) == []
    assert peek("volume", "transfer", "request", "show", offer["id"], check=False).returncode != 0  # type: ignore[attr-defined]
    wrong = peek("volume", "transfer", "request", "accept", "--auth-key", "x" * 16, offer["id"], check=False)
    assert wrong.returncode != 0  # type: ignore[attr-defined]
    assert _json(give("volume", "show", volume["id"], "-f", "json"))["status"] == "awaiting-transfer"

    accepted = _json(take("volume", "transfer", "request", "accept", "--auth-key", offer["auth_key"], offer["id"],
                          "-f", "json"))
    assert isinstance(accepted, dict) and accepted["volume_id"] == volume["id"]
    mine = _json(take("volume", "show", volume["id"], "-f", "json"))
    assert isinstance(mine, dict) and mine["status"] == "available" and mine["encrypted"] is True
    assert give("volume", "show", volume["id"], check=False).returncode != 0  # type: ignore[attr-defined]
    assert _json(give("volume", "transfer", "request", "list", "-f", "json")) == []
    # The volume's key is now the taker's secret, and no longer the giver's.
    taker_secrets = [s["Name"] for s in _json(take("secret", "list", "-f", "json"))]  # type: ignore[index]
    giver_secrets = [s["Name"] for s in _json(give("secret", "list", "-f", "json"))]  # type: ignore[index]
    assert f"volume-{volume['id']}" in taker_secrets and f"volume-{volume['id']}" not in giver_secrets
    # Used once: the same offer cannot be accepted again.
    again = take("volume", "transfer", "request", "accept", "--auth-key", offer["auth_key"], offer["id"], check=False)
    assert again.returncode != 0  # type: ignore[attr-defined]
    take("volume", "delete", volume["id"])


def test_a_withdrawn_offer_leaves_the_volume_available(server: Server, admin: Admin, tmp_path: Path) -> None:
    owner = admin.account("member")
    cli = cli_as(server, owner, tmp_path)
    volume = _json(cli("volume", "create", "--size", "1", "kept", "-f", "json"))
    assert isinstance(volume, dict)
    _available(cli, volume["id"])
    offer = _json(cli("volume", "transfer", "request", "create", volume["id"], "-f", "json"))
    assert isinstance(offer, dict)
    # A second offer of the same volume: refused, it is no longer available.
    assert cli("volume", "transfer", "request", "create", volume["id"], check=False).returncode != 0  # type: ignore[attr-defined]
    cli("volume", "transfer", "request", "delete", offer["id"])
    assert _json(cli("volume", "show", volume["id"], "-f", "json"))["status"] == "available"  # type: ignore[index]
    cli("volume", "delete", volume["id"])
