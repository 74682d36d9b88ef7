"""Issue 13, item 10: what can never boot is refused by the API, and a failure on the host is not a loop.

A member boots from images no host could ever boot (queued with no data, another project's, deactivated, an
ISO, too big for the flavor, needing more memory): each is a 400 in Nova's words, and neither a server nor a
port is left behind. When a server is accepted and its host then fails it for good (the fake hypervisor told to
refuse it), it goes to ERROR with the reason in its fault and the agent tries once, not every three seconds; a
failure that can pass is retried with growing pauses and the server boots once the cause is gone.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from andromede.compute.agent.drivers.fake import FAULTS_FILE
from tests.functional.image import corpus
from tests.support.accounts import Account, Admin, auth_headers, cli_as
from tests.support.polling import poll
from tests.support.server import Server

COMPUTE = "/compute/v2.1"
IMAGE = "/image/v2"
NET = "/network/v2.0"
GIB = 1024**3
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@pytest.fixture(scope="module")
def member(server: Server, admin: Admin) -> Account:
    return admin.account("member")


@pytest.fixture(scope="module")
def cli(server: Server, member: Account, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., object]:
    return cli_as(server, member, tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def headers(server: Server, member: Account) -> dict[str, str]:
    return auth_headers(member.token(server))


@pytest.fixture(scope="module")
def network_id(server: Server, headers: dict[str, str]) -> str:
    """The member's own network: a server that got as far as its ports would leave one here."""
    with server.http() as http:
        network = http.post(f"{NET}/networks", json={"network": {"name": "n"}}, headers=headers).json()["network"]
        subnet = http.post(f"{NET}/subnets", headers=headers, json={"subnet": {
            "network_id": network["id"], "cidr": "10.99.0.0/24", "ip_version": 4}})
        assert subnet.status_code == 201, subnet.text
    return network["id"]


def _upload(client: httpx.Client, path: Path, **fields: object) -> str:
    body = {"name": f"img-{secrets.token_hex(3)}", "disk_format": "qcow2", "container_format": "bare", **fields}
    image = client.post(f"{IMAGE}/images", json=body).json()
    uploaded = client.put(f"{IMAGE}/images/{image['id']}/file", content=path.read_bytes(),
                          headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image["id"]


@pytest.fixture(scope="module")
def bootable_image(admin: Admin, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = corpus.small_qcow2(tmp_path_factory.mktemp("img") / "ok.qcow2", "64M")
    return _upload(admin.client, path, visibility="public")


def _unbootable(kind: str, server: Server, admin: Admin, member: Account, headers: dict[str, str],
                tmp: Path) -> tuple[str, str]:
    """An image of the given kind and the 400 message Nova gives for it."""
    small = corpus.small_qcow2(tmp / "small.qcow2", "16M")
    with server.http() as http:
        http.headers.update(headers)
        if kind == "queued":  # `openstack image create NAME` with no file: no data, no disk format
            image_id = http.post(f"{IMAGE}/images", json={"name": "never-uploaded"}).json()["id"]
            return image_id, f"Image {image_id} is not active."
    if kind == "another project's":
        stranger = admin.account("member")
        with server.http() as http:
            http.headers.update(auth_headers(stranger.token(server)))
            image_id = _upload(http, small, visibility="private")
        return image_id, f"Image {image_id} could not be found."
    if kind == "deactivated":
        image_id = _upload(admin.client, small, visibility="public")
        assert admin.client.post(f"{IMAGE}/images/{image_id}/actions/deactivate").status_code == 204
        return image_id, f"Image {image_id} is not active."
    if kind == "iso":
        iso = tmp / "boot.iso"
        iso.write_bytes(b"\0" * 0x8001 + b"CD001" + b"\0" * 4096)
        image_id = _upload(admin.client, iso, visibility="public", disk_format="iso")
        return image_id, (f"Image {image_id} is unacceptable: disk format iso cannot boot a server here "
                          "(qcow2 or raw needed).")
    if kind == "larger than the flavor's disk":
        image_id = _upload(admin.client, corpus.small_qcow2(tmp / "big.qcow2", "2G"), visibility="public")
        return image_id, (f"Flavor's disk is too small for requested image. Flavor disk is {GIB} bytes, "
                          f"image is {2 * GIB} bytes.")
    if kind == "min_disk above the flavor's disk":
        image_id = _upload(admin.client, small, visibility="public", min_disk=5)
        return image_id, (f"Flavor's disk is smaller than the minimum size specified in image metadata. Flavor "
                          f"disk is {GIB} bytes, minimum size is {5 * GIB} bytes.")
    assert kind == "min_ram above the flavor's memory"
    image_id = _upload(admin.client, small, visibility="public", min_ram=4096)
    return image_id, "Flavor's memory is too small for requested image."


def _estate(http: httpx.Client, headers: dict[str, str], network_id: str) -> tuple[list, list]:
    servers = http.get(f"{COMPUTE}/servers", headers=headers).json()["servers"]
    ports = http.get(f"{NET}/ports", params={"network_id": network_id}, headers=headers).json()["ports"]
    return servers, [port["id"] for port in ports if port["device_owner"] != "network:dhcp"]


@pytest.mark.parametrize("kind", ["queued", "another project's", "deactivated", "iso", "larger than the flavor's disk",
                                  "min_disk above the flavor's disk", "min_ram above the flavor's memory"])
def test_booting_what_can_never_boot_is_refused_and_creates_nothing(
        server: Server, admin: Admin, member: Account, cli: Callable[..., object], headers: dict[str, str],
        http: httpx.Client, network_id: str, kind: str, tmp_path: Path) -> None:
    image_id, message = _unbootable(kind, server, admin, member, headers, tmp_path)
    before = _estate(http, headers, network_id)
    result = cli("server", "create", "--image", image_id, "--flavor", "m1.tiny", "--network", network_id,
                 f"never-{secrets.token_hex(3)}", check=False)
    assert result.returncode != 0  # type: ignore[attr-defined]
    if kind == "another project's":  # the client looks the image up first and finds nothing: it never asks Nova
        assert f"No Image found for {image_id}" in result.stderr, result.stderr  # type: ignore[attr-defined]
    else:
        assert "400" in result.stderr and message in result.stderr, result.stderr  # type: ignore[attr-defined]
    raw = http.post(f"{COMPUTE}/servers", headers=headers, json={"server": {
        "name": "raw", "imageRef": image_id, "flavorRef": "1", "networks": [{"uuid": network_id}]}})
    assert raw.status_code == 400 and raw.json() == {"badRequest": {"code": 400, "message": message}}
    assert _estate(http, headers, network_id) == before == ([], [])


# ---- failures on the host --------------------------------------------------------------------------

@contextlib.contextmanager
def fake_hypervisor_fails(server: Server, **rule: object) -> Iterator[Callable[[], None]]:
    """Tell the agent's fake driver to fail one operation; the returned callable (or leaving) lifts it."""
    path = server.data_dir / "fake-instances" / FAULTS_FILE
    path.write_text(json.dumps([rule]))
    try:
        yield lambda: path.unlink(missing_ok=True)
    finally:
        path.unlink(missing_ok=True)


def _agent_lines(server: Server, uuid: str) -> list[str]:
    """What the agent itself said about the instance (not the HTTP client's line per request)."""
    log = server.data_dir / "logs" / "agent.log"
    return [line for line in log.read_text(errors="replace").splitlines()
            if uuid in line and " andromede.agent " in line]


def _when(line: str) -> float:
    match = LOG_TIME.match(line)
    assert match, line
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _status(http: httpx.Client, headers: dict[str, str], server_id: str) -> dict:
    return http.get(f"{COMPUTE}/servers/{server_id}", headers=headers).json()["server"]


def test_a_server_the_host_can_never_boot_goes_to_error_once_not_in_a_loop(
        server: Server, cli: Callable[..., object], http: httpx.Client, headers: dict[str, str],
        bootable_image: str) -> None:
    name = f"doomed-{secrets.token_hex(3)}"
    reason = "Image data is corrupt: the disk cannot be read (injected)."
    with fake_hypervisor_fails(server, operation="ensure_defined", hostname=name, permanent=True,
                               message=reason) as lift:
        created = json.loads(cli("server", "create", "--image", bootable_image, "--flavor", "m1.tiny",  # type: ignore[attr-defined]
                                 "-f", "json", name).stdout)
        server_id = created["id"]
        poll(lambda: _status(http, headers, server_id)["status"] == "ERROR", what="ERROR")
        shown = json.loads(cli("server", "show", "-f", "json", name).stdout)  # type: ignore[attr-defined]
        assert shown["status"] == "ERROR" and reason in json.dumps(shown["fault"])
        assert _status(http, headers, server_id)["fault"]["message"] == reason
        time.sleep(12)  # four of the agent's 3 s drift checks, and then some: the old loop logged on each
        lines = _agent_lines(server, server_id)
        assert len(lines) == 1 and "failed permanently" in lines[0] and reason in lines[0], lines
        lift()
        time.sleep(4)  # the cause is gone, but nothing has changed in what the owner asked for: no retry
        assert _status(http, headers, server_id)["status"] == "ERROR" and len(_agent_lines(server, server_id)) == 1
    cli("server", "reboot", "--hard", name)  # a new desired state: the agent tries again, and now succeeds
    poll(lambda: _status(http, headers, server_id)["status"] == "ACTIVE", what="ACTIVE after a hard reboot")
    assert "fault" not in _status(http, headers, server_id)
    cli("server", "delete", "--wait", name)


def test_a_failure_that_can_pass_is_retried_with_growing_pauses_until_it_boots(
        server: Server, cli: Callable[..., object], http: httpx.Client, headers: dict[str, str],
        bootable_image: str) -> None:
    name = f"patient-{secrets.token_hex(3)}"
    with fake_hypervisor_fails(server, operation="start", hostname=name, permanent=False,
                               message="QEMU failed to start: cannot allocate memory (injected)") as lift:
        created = json.loads(cli("server", "create", "--image", bootable_image, "--flavor", "m1.tiny",  # type: ignore[attr-defined]
                                 "-f", "json", name).stdout)
        server_id = created["id"]
        poll(lambda: len(_agent_lines(server, server_id)) >= 3, timeout=90, what="three attempts")
        attempts = _agent_lines(server, server_id)[:3]
        assert all("cannot allocate memory" in line for line in attempts), attempts
        assert [f"attempt {n} failed" in line for n, line in enumerate(attempts, 1)] == [True] * 3, attempts
        # 3 s then 6 s (each shortened by up to a fifth, and rounded up to the agent's 3 s tick): not a fixed beat.
        assert _when(attempts[2]) - _when(attempts[1]) >= 4.5, attempts
        assert _status(http, headers, server_id)["status"] == "BUILD"  # not given up: no ERROR yet
        lift()
        poll(lambda: _status(http, headers, server_id)["status"] == "ACTIVE", timeout=90,
             what="ACTIVE once the cause is gone")
    assert len(_agent_lines(server, server_id)) <= 5  # one line per attempt, a handful of attempts
    cli("server", "delete", "--wait", name)
