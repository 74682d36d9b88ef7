"""The host side of the metadata service: names the calling instance, signs its id, asks the controller.

Each network's proxy (drivers/linux/metadata_proxy.py, in the network's DHCP namespace) hands a guest's request
over a unix socket that only root can open, with two headers it set itself:

    X-Andromede-Network-ID   the network the proxy serves
    X-Forwarded-For          the guest's address as the proxy's TCP peer

`lookup(network_id, ip)` (the agent's desired state: the port on that network that owns that fixed IP) says
which instance that is and of which project. The request goes on to `<controller>/metadata/<path>` with
X-Instance-ID, X-Tenant-ID and X-Instance-ID-Signature (hex HMAC-SHA256 of the instance id); no other X-*
header a guest sent is passed on. Only GET and HEAD exist (405 otherwise); an unknown caller gets 404. Answers
are bounded in size and time.

    relay = MetadataRelay(socket_path, controller_url, secret, lookup, client_factory)
    relay.start()   # a thread with its own event loop; returns once the socket listens
    ...
    relay.stop()

or `MetadataRelay.from_agent_config(agent_yaml, socket_path, lookup)` with the agent's own configuration
(controller URL and CA from `auth_url`/`cacert`, the key from `metadata_secret`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from andromede.contracts import metadata as signing

log = logging.getLogger("andromede.network.metadata")

NETWORK_HEADER = "x-andromede-network-id"
FORWARDED_HEADER = "x-forwarded-for"
# lookup(network_id, fixed_ip) -> (instance_id, project_id), or None when no instance owns that address there.
Lookup = Callable[[str, str], "tuple[str, str] | None"]
ClientFactory = Callable[[], httpx.AsyncClient]

MAX_HEAD_BYTES = 16 * 1024
MAX_ANSWER_BYTES = 1024 * 1024
READ_TIMEOUT_S = 10.0
CONTROLLER_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 128
METHODS = ("GET", "HEAD")
# Headers of the guest's that reach the controller; all others (every X-* included) stay here.
_PASSED_ON = ("accept", "user-agent")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Metadata paths are plain: letters, digits and . _ - = / (public-keys/0=name); no %-escapes, no dot segments.
_PATH = re.compile(r"/[A-Za-z0-9._=/-]*")
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
            502: "Bad Gateway", 504: "Gateway Timeout"}


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    content_length: int | None = None  # for HEAD: what GET would have sent

    def encode(self, head_only: bool) -> bytes:
        length = self.content_length if head_only and self.content_length is not None else len(self.body)
        reason = _REASONS.get(self.status, "Unknown")
        head = (f"HTTP/1.0 {self.status} {reason}\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode("latin-1")
        return head if head_only else head + self.body


def _plain(status: int) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", f"{status} {_REASONS.get(status, 'Error')}\n".encode())


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    network_id: str
    address: str
    passed_on: dict[str, str]


def parse_request(head: bytes) -> Request:
    """The proxy's request head (without the blank line) → Request; _Refused(400/405/404) when unusable."""
    try:
        lines = head.decode("ascii").split("\r\n")
    except UnicodeDecodeError:
        raise _Refused(400) from None
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(400)
    method, target = parts[0], parts[1]
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _Refused(400)
        headers.setdefault(name.lower(), []).append(value.strip())
    networks, peers = headers.get(NETWORK_HEADER, []), headers.get(FORWARDED_HEADER, [])
    # Exactly one of each, as the proxy sets them; anything else did not come from a proxy of ours.
    if len(networks) != 1 or len(peers) != 1 or not _UUID.fullmatch(networks[0]):
        raise _Refused(400)
    try:
        address = str(ipaddress.ip_address(peers[0]))
    except ValueError:
        raise _Refused(400) from None
    if method not in METHODS:
        raise _Refused(405)
    path = target.split("?", 1)[0]
    if not _PATH.fullmatch(path) or any(segment in (".", "..") for segment in path.split("/")):
        raise _Refused(404)
    passed_on = {name: values[0] for name, values in headers.items() if name in _PASSED_ON and values}
    return Request(method, path, networks[0], address, passed_on)


def default_client_factory(cacert: str | None = None, *, verify: bool = True) -> ClientFactory:
    """AsyncClients that trust the installation's CA (agent.yaml `cacert`), or the system's when None."""

    def make() -> httpx.AsyncClient:
        context: ssl.SSLContext | bool = ssl.create_default_context(cafile=cacert) if cacert else verify
        return httpx.AsyncClient(verify=context, timeout=CONTROLLER_TIMEOUT_S, follow_redirects=False,
                                 limits=httpx.Limits(max_connections=32, max_keepalive_connections=8))

    return make


class MetadataRelay:
    def __init__(self, socket_path: Path, controller_url: str, secret: bytes, lookup: Lookup,
                 client_factory: ClientFactory | None = None, *, max_answer_bytes: int = MAX_ANSWER_BYTES,
                 timeout: float = CONTROLLER_TIMEOUT_S, host: str | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the metadata secret must be at least 16 bytes")
        self.socket_path = Path(socket_path)
        self.controller_url = controller_url.rstrip("/")
        self._secret = secret
        self.host = host  # the host whose key `secret` is (None: the installation's own key)
        self.lookup = lookup
        self.client_factory = client_factory or default_client_factory()
        self.max_answer_bytes = max_answer_bytes
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_agent_config(cls, config_path: Path, socket_path: Path, lookup: Lookup) -> MetadataRelay:
        """Controller URL, CA and key from the host agent's agent.yaml (written by the controller's bootstrap)."""
        config = yaml.safe_load(Path(config_path).read_text()) or {}
        secret = signing.secret_from_config(config)
        if secret is None:
            raise ValueError(f"{config_path} has no {signing.AGENT_CONFIG_KEY}")
        controller = str(config["auth_url"]).rstrip("/").rsplit("/identity", 1)[0]
        cacert = str(Path(config_path).parent / config["cacert"]) if config.get("cacert") else None  # may be relative
        return cls(socket_path, controller, secret, lookup, default_client_factory(cacert), host=config.get("host"))

    # ---- running in a thread of its own ----

    def start(self, timeout: float = 10.0) -> None:
        """Listen on the socket in a background thread; raises if it could not."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.serve(ready))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="metadata-relay", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the metadata relay did not start")
        if failure:
            raise RuntimeError(f"the metadata relay could not start: {failure[0]}") from failure[0]

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ---- the server ----

    async def serve(self, ready: threading.Event | None = None) -> None:
        """Serve until stop(); the socket is 0600 (root only) from the moment it exists under its name."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        # Bound under a private name, restricted, then renamed into place: never reachable while still 0666.
        temporary = self.socket_path.with_name(f".{self.socket_path.name}.{os.getpid()}.tmp")
        temporary.unlink(missing_ok=True)
        server = await asyncio.start_unix_server(self._handle, path=str(temporary), limit=MAX_HEAD_BYTES)
        try:
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.socket_path)
            async with self.client_factory() as client:
                self._client = client
                if ready is not None:
                    ready.set()
                log.info("metadata relay listening on %s for %s", self.socket_path, self.controller_url)
                await self._stopping.wait()
        finally:
            server.close()
            with contextlib.suppress(OSError):
                await server.wait_closed()
            temporary.unlink(missing_ok=True)
            self.socket_path.unlink(missing_ok=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head_only = False
        try:
            assert self._slots is not None
            async with self._slots:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
                    request = parse_request(head[:-4])
                    head_only = request.method == "HEAD"
                    try:
                        answer = await asyncio.wait_for(self.answer(request), self.timeout + 5)
                    except TimeoutError:
                        answer = _plain(504)
                except asyncio.LimitOverrunError:
                    answer = _plain(431)
                except asyncio.IncompleteReadError:
                    answer = _plain(400)
                except TimeoutError:
                    answer = _plain(408)
                except _Refused as refused:
                    answer = _plain(refused.status)
                writer.write(answer.encode(head_only))
                await asyncio.wait_for(writer.drain(), READ_TIMEOUT_S)
        except Exception:  # one bad connection never stops the relay
            log.exception("metadata relay: connection failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def answer(self, request: Request) -> Answer:
        try:
            owner = await asyncio.to_thread(self.lookup, request.network_id, request.address)
        except Exception:
            log.exception("metadata relay: lookup failed for %s on %s", request.address, request.network_id)
            return _plain(500)
        if owner is None:
            log.info("metadata request from %s on network %s: no instance has that address",
                     request.address, request.network_id)
            return _plain(404)
        instance_id, project_id = owner
        headers = {
            **request.passed_on,
            signing.INSTANCE_ID_HEADER: instance_id,
            signing.TENANT_ID_HEADER: project_id,
            signing.SIGNATURE_HEADER: signing.sign(self._secret, instance_id),
            "Accept-Encoding": "identity",
            **({signing.HOST_HEADER: self.host} if self.host else {}),
        }
        url = f"{self.controller_url}/metadata{request.path}"
        assert self._client is not None
        try:
            async with self._client.stream(request.method, url, headers=headers, timeout=self.timeout) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_answer_bytes:
                        log.warning("metadata answer for %s over %d bytes: refused", url, self.max_answer_bytes)
                        return _plain(502)
                declared = response.headers.get("content-length")
                return Answer(response.status_code, response.headers.get("content-type", "application/octet-stream"),
                              bytes(body), int(declared) if declared and declared.isdigit() else None)
        except httpx.TimeoutException:
            return _plain(504)
        except httpx.HTTPError as exc:
            log.warning("metadata relay: controller unreachable (%s)", exc)
            return _plain(502)
