"""The volume agent makes volumes real on the host: `openstack volume create` reaches `available` with a
qcow2+LUKS file on the host (qemu-img, the real FileDriver: the fake hypervisor does not change the volume driver),
from an image too; `openstack volume delete` removes the file and yields a deletion certificate that
`andromede verify-certificate` accepts."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import uuid
from pathlib import Path

from tests.support.accounts import Admin, cli_as
from tests.support.hosts import local_agent
from tests.support.polling import poll
from tests.support.server import VENV_BIN, Server

TINY_QCOW2 = Path(__file__).parents[2] / "golden" / "tiny.qcow2.gz"
DEADLINE = 120.0


def _json(result: object) -> dict:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def volume_file(server: Server, volume_id: str) -> Path:
    """Where the host keeps a volume: its id in canonical UUID form (the API's has no dashes)."""
    return server.data_dir / "volumes" / f"{uuid.UUID(hex=volume_id)}.qcow2"


def wait_status(cli: object, volume_id: str, wanted: str) -> dict:
    shown: dict = {}

    def reached() -> bool:
        nonlocal shown
        shown = _json(cli("volume", "show", volume_id, "-f", "json"))  # type: ignore[operator]
        assert shown["status"] not in ("error",) or wanted == "error", shown
        return shown["status"] == wanted

    poll(reached, DEADLINE, f"volume {volume_id} {wanted}", interval=0.5)
    return shown


def wait_gone(cli: object, volume_id: str) -> None:
    poll(lambda: cli("volume", "show", volume_id, check=False).returncode != 0,  # type: ignore[operator]
         DEADLINE, f"volume {volume_id} gone", interval=0.5)


def qemu_info(path: Path) -> dict:
    result = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)], capture_output=True, text=True,
                            check=True, timeout=30)
    return json.loads(result.stdout)


def test_a_volume_is_made_encrypted_on_the_host_and_deleted_with_a_certificate(
        server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    made = _json(cli("volume", "create", "--size", "1", "v", "-f", "json"))
    assert made["status"] == "creating"
    shown = wait_status(cli, made["id"], "available")
    assert shown["encrypted"] is True

    path = volume_file(server, made["id"])
    assert path.is_file() and path.stat().st_mode & 0o077 == 0
    info = qemu_info(path)
    assert info["format"] == "qcow2" and info["virtual-size"] == 1024**3
    assert info["format-specific"]["data"]["encrypt"]["format"] == "luks"
    with local_agent(server).client() as host:  # the key, as the host's agent gets it
        key = base64.b64decode(host.get(f"/internal/v1/hosts/{local_agent(server).name}/volumes/{made['id']}/key")
                               .json()["key"])
    stored = path.read_bytes()
    assert len(key) == 64 and key not in stored and key.hex().encode() not in stored
    assert base64.b64encode(key) not in stored

    cli("volume", "delete", made["id"])
    wait_gone(cli, made["id"])
    assert not path.exists()
    assert not any(p.name.startswith(f".{path.stem}") for p in path.parent.iterdir())
    with server.http() as client:
        account_token = cli("token", "issue", "-f", "value", "-c", "id").stdout.strip()  # type: ignore[attr-defined]
        answer = client.get(f"/key-manager/v1/deletion-certificates/{made['id']}",
                            headers={"X-Auth-Token": account_token})
    assert answer.status_code == 200, answer.text
    certificate = answer.json()
    assert certificate["statement"]["resource"]["type"] == "volume"
    assert certificate["statement"]["resource"]["id"] == made["id"]
    saved = tmp_path / "certificate.json"
    saved.write_text(json.dumps(certificate))
    verified = subprocess.run([str(VENV_BIN / "andromede"), "verify-certificate", str(saved), "--data-dir",
                               str(server.data_dir)], capture_output=True, text=True, timeout=60, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"VALID: volume {made['id']} ")


def test_a_volume_is_made_from_an_image(server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    image_path = tmp_path / "tiny.qcow2"
    image_path.write_bytes(gzip.decompress(TINY_QCOW2.read_bytes()))
    cli("image", "create", "--disk-format", "qcow2", "--container-format", "bare", "--file", str(image_path),
        "tiny")
    made = _json(cli("volume", "create", "--image", "tiny", "--size", "1", "from-image", "-f", "json"))
    shown = wait_status(cli, made["id"], "available")
    assert shown["bootable"] in (True, "true")
    info = qemu_info(volume_file(server, made["id"]))
    assert info["format-specific"]["data"]["encrypt"]["format"] == "luks"
    assert not list((server.data_dir / "volume-images").glob("*"))  # the download went with its volume's making
    cli("volume", "delete", made["id"])
    wait_gone(cli, made["id"])
    assert not volume_file(server, made["id"]).exists()


def test_an_image_too_big_or_not_visible_is_a_400(server: Server, admin: Admin, tmp_path: Path) -> None:
    cli = cli_as(server, admin.account("member"), tmp_path)
    refused = cli("volume", "create", "--image", "00000000-0000-4000-8000-000000000000", "--size", "1", "x",
                  check=False)
    assert refused.returncode != 0  # type: ignore[attr-defined]
    assert _json(cli("volume", "list", "-f", "json")) == []  # type: ignore[comparison-overlap]
