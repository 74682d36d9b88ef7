"""Issue 16's crypto-shredding, as an operator would check it: a copy of a volume's file taken before the volume
is deleted opens with the volume's key while it exists, and with nothing left on the host once it is gone — its
key is no longer a secret anyone can read, its bytes (raw, hex, base64) are in no file under the data dir, and no
key the key manager still holds for the project opens the copy."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from pathlib import Path

import pytest

from andromede.volume.agent.drivers.base import WrongKey
from andromede.volume.agent.drivers.file import FileDriver
from tests.functional.volume.test_volume_agent import volume_file, wait_gone, wait_status
from tests.support.accounts import Admin, cli_as
from tests.support.hosts import local_agent
from tests.support.server import Server


def _opens(copy_dir: Path, copy_id: str, key: bytes) -> bool:
    """Whether `key` opens the copy: a clone of it under no key succeeds only with the right one."""
    driver = FileDriver(copy_dir, iter_time_ms=10)
    clone_id = str(uuid.uuid4())
    try:
        driver.clone(clone_id, copy_id, source_key=key, key=None)
    except WrongKey:
        return False
    driver.delete(clone_id)
    return True


def _under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file() and not path.is_symlink()]


def test_a_copy_taken_before_deletion_opens_with_nothing_left(server: Server, admin: Admin, tmp_path: Path) -> None:
    member = admin.account("member")
    cli = cli_as(server, member, tmp_path)
    made = json.loads(cli("volume", "create", "--size", "1", "doomed", "-f", "json").stdout)  # type: ignore[attr-defined]
    wait_status(cli, made["id"], "available")
    agent = local_agent(server)
    with agent.client() as host:
        key = base64.b64decode(host.get(f"/internal/v1/hosts/{agent.name}/volumes/{made['id']}/key").json()["key"])

    copy_dir = tmp_path / "copies"
    copy_dir.mkdir(mode=0o700)
    copy_id = str(uuid.uuid4())
    shutil.copyfile(volume_file(server, made["id"]), copy_dir / f"{copy_id}.qcow2")
    assert _opens(copy_dir, copy_id, key)
    assert not _opens(copy_dir, copy_id, bytes(64))

    cli("volume", "delete", made["id"])
    wait_gone(cli, made["id"])

    # The key is no secret of anyone's any more...
    secrets = json.loads(cli("secret", "list", "-f", "json").stdout)  # type: ignore[attr-defined]
    assert not [s for s in secrets if s["Name"] == f"volume-{made['id']}"]
    # ...and no file under the data dir (database and its journal included) holds it in any spelling.
    spellings = (key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key))
    for path in _under(server.data_dir):
        try:
            content = path.read_bytes()
        except OSError:
            continue  # sockets and the like
        for spelling in spellings:
            assert spelling not in content, f"the deleted volume's key is in {path}"
    # Every key the key manager still keeps for the project fails on the copy.
    for secret in secrets:
        payload = cli("secret", "get", "--payload", "-f", "value", secret["Secret href"], check=False)
        if payload.returncode == 0:  # type: ignore[attr-defined]
            raw = payload.stdout.strip().encode()  # type: ignore[attr-defined]
            for candidate in {raw, *([base64.b64decode(raw)] if len(raw) % 4 == 0 else [])}:
                assert not _opens(copy_dir, copy_id, candidate)
    with pytest.raises(WrongKey):
        FileDriver(copy_dir, iter_time_ms=10).clone(str(uuid.uuid4()), copy_id, source_key=bytes(64), key=None)
