"""The agent's relay (unix socket → signed request to the controller) and the namespace proxy's program,
with a fake lookup and a stub controller. The proxy inside a real namespace: tests/contract/network."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from andromede.contracts import metadata as signing
from andromede.network.agent import metadata_relay
from andromede.network.agent.drivers.linux import metadata_proxy
from andromede.network.agent.metadata_relay import MetadataRelay

SECRET = bytes(range(32))
NETWORK = "11111111-2222-4333-8444-555555555555"
INSTANCE = "6d6c2b8e-4a7b-4a53-9a1e-0b6f7d1f0a11"
PROJECT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
OWNERS = {(NETWORK, "10.0.0.5"): (INSTANCE, PROJECT)}


class StubController:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.big = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.big:
            return httpx.Response(200, content=b"x" * (metadata_relay.MAX_ANSWER_BYTES + 1))
        if request.url.path == "/metadata/openstack/latest/meta_data.json":
            return httpx.Response(200, json={"uuid": request.headers["x-instance-id"]})
        return httpx.Response(404, text="404 Not Found\n")


@pytest.fixture()
def controller() -> StubController:
    return StubController()


@pytest.fixture()
def relay(tmp_path: Path, controller: StubController) -> Iterator[MetadataRelay]:
    lookups: list[tuple[str, str]] = []

    def lookup(network_id: str, ip: str) -> tuple[str, str] | None:
        lookups.append((network_id, ip))
        return OWNERS.get((network_id, ip))

    def factory() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(controller.handle))

    made = MetadataRelay(tmp_path / "run" / "metadata.sock", "https://controller.example:5000/", SECRET, lookup,
                         factory)
    made.lookups = lookups  # type: ignore[attr-defined]
    made.start()
    yield made
    made.stop()


def _ask(path: Path, head: str) -> tuple[int, dict[str, str], bytes]:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(str(path))
        conn.sendall(head.encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _proxied(path: str, *extra: str, method: str = "GET", network: str = NETWORK, peer: str = "10.0.0.5") -> str:
    lines = [f"{method} {path} HTTP/1.0", *extra, f"X-Andromede-Network-ID: {network}", f"X-Forwarded-For: {peer}"]
    return "\r\n".join(lines) + "\r\n\r\n"


def test_socket_is_root_only_and_removed_on_stop(tmp_path: Path, controller: StubController) -> None:
    relay = MetadataRelay(tmp_path / "m.sock", "http://c", SECRET, lambda n, i: None,
                          lambda: httpx.AsyncClient(transport=httpx.MockTransport(controller.handle)))
    relay.start()
    mode = (tmp_path / "m.sock").stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    relay.stop()
    assert not (tmp_path / "m.sock").exists()
    assert list(tmp_path.iterdir()) == []


def test_known_caller_is_signed_and_forwarded(relay: MetadataRelay, controller: StubController) -> None:
    status, headers, body = _ask(relay.socket_path, _proxied(
        "/openstack/latest/meta_data.json", "Accept: application/json", "X-Auth-Token: stolen",
        "X-Custom: 1"))
    assert (status, body) == (200, b'{"uuid":"' + INSTANCE.encode() + b'"}')
    assert headers["content-type"] == "application/json"
    assert relay.lookups == [(NETWORK, "10.0.0.5")]  # type: ignore[attr-defined]
    sent = controller.requests[-1]
    assert str(sent.url) == "https://controller.example:5000/metadata/openstack/latest/meta_data.json"
    assert sent.headers["x-instance-id"] == INSTANCE and sent.headers["x-tenant-id"] == PROJECT
    assert signing.verify(SECRET, INSTANCE, sent.headers["x-instance-id-signature"])
    assert sent.headers["accept"] == "application/json"
    forwarded = {name.lower() for name in sent.headers if name.lower().startswith("x-")}
    assert forwarded == {"x-instance-id", "x-tenant-id", "x-instance-id-signature"}


def test_controller_status_is_passed_back(relay: MetadataRelay) -> None:
    status, _headers, body = _ask(relay.socket_path, _proxied("/openstack/latest/nothing"))
    assert (status, body) == (404, b"404 Not Found\n")


def test_head_has_no_body(relay: MetadataRelay) -> None:
    status, headers, body = _ask(relay.socket_path, _proxied("/openstack/latest/meta_data.json", method="HEAD"))
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_unknown_caller_is_404_and_the_controller_never_asked(relay: MetadataRelay,
                                                               controller: StubController) -> None:
    for request in (_proxied("/openstack", peer="10.0.0.6"),
                    _proxied("/openstack", network="11111111-2222-4333-8444-000000000000")):
        assert _ask(relay.socket_path, request)[0] == 404
    assert controller.requests == []


@pytest.mark.parametrize("request_head, status", [
    (_proxied("/openstack", method="POST"), 405),
    (_proxied("/openstack", method="DELETE"), 405),
    ("GET /openstack HTTP/1.0\r\nX-Forwarded-For: 10.0.0.5\r\n\r\n", 400),  # no network: not from our proxy
    ("GET /openstack HTTP/1.0\r\nX-Andromede-Network-ID: " + NETWORK + "\r\n\r\n", 400),
    (_proxied("/openstack", "X-Forwarded-For: 10.0.0.9"), 400),  # two addresses: which one?
    (_proxied("/openstack", network="not-a-uuid"), 400),
    (_proxied("/openstack", peer="10.0.0.5, 10.0.0.9"), 400),
    (_proxied("/openstack/%2e%2e/x"), 404),
    (_proxied("/openstack/../../compute/v2.1/servers"), 404),
    (_proxied("http://elsewhere/openstack"), 404),
    ("garbage\r\n\r\n", 400),
])
def test_bad_requests_are_refused(relay: MetadataRelay, controller: StubController, request_head: str,
                                  status: int) -> None:
    assert _ask(relay.socket_path, request_head)[0] == status
    assert controller.requests == []


def test_oversized_head_and_answer_are_refused(relay: MetadataRelay, controller: StubController) -> None:
    huge = _proxied("/openstack", *[f"X-Filler-{i}: {'a' * 200}" for i in range(200)])
    assert _ask(relay.socket_path, huge)[0] == 431
    controller.big = True
    assert _ask(relay.socket_path, _proxied("/openstack/latest/meta_data.json"))[0] == 502


def test_unreachable_controller_is_502(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    relay = MetadataRelay(tmp_path / "m.sock", f"http://127.0.0.1:{port}", SECRET, lambda n, i: (INSTANCE, PROJECT))
    relay.start()
    try:
        assert _ask(relay.socket_path, _proxied("/openstack"))[0] == 502
    finally:
        relay.stop()


def test_from_agent_config(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(f"auth_url: https://ctl.example:5000/identity/v3\ncacert: null\n"
                      f"{signing.AGENT_CONFIG_KEY}: {SECRET.hex()}\n")
    relay = MetadataRelay.from_agent_config(config, tmp_path / "m.sock", lambda n, i: None)
    assert relay.controller_url == "https://ctl.example:5000" and relay.host is None
    config.write_text(f"host: hv1\nauth_url: https://ctl.example:5000/identity/v3\ncacert: null\n"
                      f"{signing.AGENT_CONFIG_KEY}: {SECRET.hex()}\n")
    assert MetadataRelay.from_agent_config(config, tmp_path / "m.sock", lambda n, i: None).host == "hv1"
    config.write_text("auth_url: https://ctl.example:5000/identity/v3\n")
    with pytest.raises(ValueError):
        MetadataRelay.from_agent_config(config, tmp_path / "m.sock", lambda n, i: None)


# ---- the namespace proxy's program, here on loopback ----


def test_proxy_head_parsing_and_stripping() -> None:
    method, target, headers = metadata_proxy.parse_head(
        b"GET /openstack HTTP/1.1\r\nHost: 169.254.169.254\r\nX-Instance-ID: forged\r\nx-tenant-id: forged\r\n"
        b"X-Forwarded-For: 1.2.3.4\r\nX-ANDROMEDE-NETWORK-ID: forged\r\nX-Instance-ID-Signature: f\r\n"
        b"Forwarded: for=1.2.3.4\r\nAccept: */*")
    request = metadata_proxy.relay_request(method, target, headers, NETWORK, "10.0.0.5").decode()
    assert request.split("\r\n") == ["GET /openstack HTTP/1.0", "Host: 169.254.169.254", "Accept: */*",
                                     f"X-Andromede-Network-ID: {NETWORK}", "X-Forwarded-For: 10.0.0.5",
                                     "Connection: close", "", ""]
    for bad in (b"GET /x HTTP/2.0", b"GET x HTTP/1.1", b"GET /x HTTP/1.1\r\n folded: yes",
                b"GET /x HTTP/1.1\r\nX-Instance-ID : forged", b"GET /a b HTTP/1.1", b"GET /\xff HTTP/1.1",
                b"GET /x HTTP/1.1\r\nA: b\x00c"):
        with pytest.raises(metadata_proxy.BadRequest):
            metadata_proxy.parse_head(bad)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http(port: int, raw: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_proxy_program_forwards_with_its_own_identity_headers(tmp_path: Path, controller: StubController) -> None:
    seen: list[tuple[str, str]] = []

    def lookup(network_id: str, ip: str) -> tuple[str, str] | None:
        seen.append((network_id, ip))
        return (INSTANCE, PROJECT) if ip == "127.0.0.1" else None

    relay = MetadataRelay(tmp_path / "m.sock", "http://controller", SECRET, lookup,
                          lambda: httpx.AsyncClient(transport=httpx.MockTransport(controller.handle)))
    relay.start()
    port, pidfile = _free_port(), tmp_path / "proxy.pid"
    argv = metadata_proxy.command(NETWORK, str(relay.socket_path), str(pidfile), listen=f"127.0.0.1:{port}")
    assert argv[:3] == [sys.executable, "-I", metadata_proxy.SCRIPT]
    proxy = subprocess.Popen([*argv, "--foreground"])
    try:
        deadline = time.monotonic() + 10
        while metadata_proxy.running_pid(str(pidfile)) != proxy.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metadata_proxy.running_pid(str(pidfile)) == proxy.pid
        status, body = _http(port, (
            "GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: 169.254.169.254\r\n"
            f"X-Instance-ID: {'0' * 8}-0000-4000-8000-{'0' * 12}\r\nX-Tenant-ID: other\r\n"
            f"X-Forwarded-For: 10.9.9.9\r\nX-Andromede-Network-ID: {'9' * 8}-9999-4999-8999-{'9' * 12}\r\n"
            f"X-Instance-ID-Signature: {signing.sign(SECRET, 'other')}\r\nConnection: keep-alive\r\n\r\n").encode())
        assert (status, body) == (200, b'{"uuid":"' + INSTANCE.encode() + b'"}')
        assert seen == [(NETWORK, "127.0.0.1")]
        assert controller.requests[-1].headers["x-tenant-id"] == PROJECT
        assert _http(port, b"GET /x HTTP/1.1\r\n" + b"A: " + b"b" * 20000 + b"\r\n\r\n")[0] == 431
        assert _http(port, b"BREW /x HTCPCP/1.0\r\n\r\n")[0] == 400
        assert _http(port, b"POST /openstack HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")[0] == 405
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(10)
        relay.stop()
    assert not pidfile.exists()
    assert _relay_down_is_502(tmp_path, port)


def _relay_down_is_502(tmp_path: Path, port: int) -> bool:
    """With the relay gone (agent restarting), the guest gets a 502 and the proxy lives on."""
    pidfile = tmp_path / "p2.pid"
    argv = metadata_proxy.command(NETWORK, str(tmp_path / "absent.sock"), str(pidfile), listen=f"127.0.0.1:{port}")
    done = subprocess.run(argv, timeout=10, check=False)  # daemonises: returns once it listens
    try:
        assert done.returncode == 0
        pid = metadata_proxy.running_pid(str(pidfile))
        assert pid is not None and pid != os.getpid()
        assert _http(port, b"GET /openstack HTTP/1.0\r\n\r\n")[0] == 502
        assert metadata_proxy.running_pid(str(pidfile)) == pid
        # A second one cannot bind the same address: a non-zero exit, not a silent failure.
        assert subprocess.run([*argv[:-1], str(tmp_path / "p3.pid")], timeout=10, check=False,
                              capture_output=True).returncode != 0
    finally:
        metadata_proxy.stop(str(pidfile))
    return metadata_proxy.running_pid(str(pidfile)) is None and not pidfile.exists()
