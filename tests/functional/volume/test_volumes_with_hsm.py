"""Issue 16: with the master KEK in a PKCS#11 token (SoftHSM2), volumes survive a restart of the whole cloud —
the key chain (token → project KEK → the volume's key) opens again and the file opens with it — and without the
token nothing on disk opens a volume: the cloud refuses to start."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from pathlib import Path

import pytest

from tests.functional.volume.test_crypto_shred import _opens
from tests.functional.volume.test_volume_agent import volume_file, wait_status
from tests.support import softhsm
from tests.support.accounts import Admin, cli_as
from tests.support.hosts import local_agent
from tests.support.server import Server, free_port


def test_volumes_open_after_a_restart_with_the_master_key_in_softhsm(tmp_path: Path) -> None:
    if softhsm.module() is None:
        pytest.skip("softhsm2 is not installed (Debian package softhsm2; `make` installs it)")
    token = softhsm.make_token(tmp_path / "hsm")
    cloud = Server(data_dir=tmp_path / "data", port=free_port(), env=token.settings_env())
    cloud.start()
    try:
        account = Admin(cloud).account("member")
        cli = cli_as(cloud, account, tmp_path)
        made = json.loads(cli("volume", "create", "--size", "1", "sealed", "-f", "json").stdout)  # type: ignore[attr-defined]
        wait_status(cli, made["id"], "available")
        assert not (cloud.data_dir / "kms" / "master-kek").exists()  # the master key is in the token only
        cloud.stop()
        cloud.start()
        assert wait_status(cli, made["id"], "available")["encrypted"] is True
        agent = local_agent(cloud)
        with agent.client() as host:  # the key as the volume agent gets it, unwrapped through the token again
            answer = host.get(f"/internal/v1/hosts/{agent.name}/volumes/{made['id']}/key")
        assert answer.status_code == 200, answer.text
        copy_dir = tmp_path / "copy"
        copy_dir.mkdir(mode=0o700)
        copy_id = str(uuid.uuid4())
        shutil.copyfile(volume_file(cloud, made["id"]), copy_dir / f"{copy_id}.qcow2")
        assert _opens(copy_dir, copy_id, base64.b64decode(answer.json()["key"]))
        second = json.loads(cli("volume", "create", "--size", "1", "after", "-f", "json").stdout)  # type: ignore[attr-defined]
        wait_status(cli, second["id"], "available")
    finally:
        cloud.stop()
    cloud.env = {**token.settings_env(), "ANDROMEDE_KMS_PKCS11_TOKEN_LABEL": "no-such-token"}
    with pytest.raises(RuntimeError):
        cloud.start(timeout=30)
