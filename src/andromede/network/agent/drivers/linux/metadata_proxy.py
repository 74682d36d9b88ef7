"""The metadata proxy of one network: 169.254.169.254:80 inside the network's DHCP namespace → the agent's relay.

A guest's request is read (one HTTP/1.x request head, bounded and time-limited), stripped of every header that
could claim an identity, given the two headers that say where it came from, and handed over the relay's unix
socket (which the proxy reaches because the namespace shares the host's filesystem):

    X-Andromede-Network-ID: the network this proxy serves (from its command line)
    X-Forwarded-For: the TCP peer address of the guest's connection, as the kernel reports it

The relay trusts these two only because nobody but root can write to its socket. The answer is copied back
and the connection closed. No request body is ever forwarded (the service is read-only).

Started by the Linux network driver, by file path so no package (and none of its imports) is loaded:

    ip netns exec qdhcp-NET python3 -I .../metadata_proxy.py --network-id NET --listen 169.254.169.254:80 \\
        --socket STATE/metadata.sock --pidfile STATE/dhcp/NET/metadata-proxy.pid

It binds, daemonises, writes its pid file and the starting process exits 0 (non-zero if it could not bind), the
way dnsmasq does. `--foreground` keeps it attached (tests). Standard library only: it starts once per network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time

MAX_HEAD_BYTES = 16 * 1024
MAX_HEADERS = 64
MAX_ANSWER_BYTES = 2 * 1024 * 1024  # the relay's own bound (1 MiB of body) plus room for its head
READ_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 64

NETWORK_HEADER = "X-Andromede-Network-ID"
FORWARDED_HEADER = "X-Forwarded-For"
# Identity a guest must never be able to claim, in any spelling of case.
_STRIPPED_PREFIXES = ("x-andromede-", "x-instance-", "x-tenant-")
_STRIPPED = {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "forwarded",
             # hop-by-hop and body framing: no body is forwarded, the connection to the relay is ours
             "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
             "content-length", "expect"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METHOD = re.compile(r"[A-Z]{1,16}")
_TARGET = re.compile(r"/[\x21-\x7e]*")
_VERSION = re.compile(r"HTTP/1\.[01]")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class BadRequest(Exception):
    pass


def is_stripped(name: str) -> bool:
    lowered = name.lower()
    return lowered in _STRIPPED or lowered.startswith(_STRIPPED_PREFIXES)


def parse_head(head: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, target, headers) of one request head (without its final blank line); BadRequest if malformed."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadRequest("non-ASCII request head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]) \
            or not _VERSION.fullmatch(parts[2]):
        raise BadRequest("bad request line")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        # No obsolete line folding, no whitespace before the colon, no control characters: one meaning only.
        if not colon or not _TOKEN.fullmatch(name) or any(ord(c) < 0x20 and c != "\t" for c in value):
            raise BadRequest("bad header line")
        headers.append((name, value.strip(" \t")))
    if len(headers) > MAX_HEADERS:
        raise BadRequest("too many headers")
    return parts[0], parts[1], headers


def relay_request(method: str, target: str, headers: list[tuple[str, str]], network_id: str, peer: str) -> bytes:
    """The request the relay gets: the guest's own headers minus any claim of identity, plus where it came from."""
    kept = [(name, value) for name, value in headers if not is_stripped(name)]
    kept += [(NETWORK_HEADER, network_id), (FORWARDED_HEADER, peer), ("Connection", "close")]
    lines = [f"{method} {target} HTTP/1.0", *(f"{name}: {value}" for name, value in kept)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _error(status: int, reason: str) -> bytes:
    body = f"{status} {reason}\n".encode()
    return (f"HTTP/1.0 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then read what the client still sends (briefly): closing with unread input would make the
    kernel reset the connection, and the client could lose the answer it has not read yet."""
    if writer.can_write_eof():
        writer.write_eof()
    deadline = asyncio.get_running_loop().time() + 1.0
    discarded = 0
    while discarded < MAX_HEAD_BYTES * 4:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        chunk = await asyncio.wait_for(reader.read(65536), remaining)
        if not chunk:
            return
        discarded += len(chunk)


class Proxy:
    def __init__(self, network_id: str, socket_path: str) -> None:
        if not _UUID.fullmatch(network_id):
            raise ValueError(f"network id must be a canonical UUID, got {network_id!r}")
        self.network_id = network_id
        self.socket_path = socket_path
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with self._slots:
                answer = await self._answer(reader, writer.get_extra_info("peername"))
                writer.write(answer)
                await asyncio.wait_for(writer.drain(), READ_TIMEOUT_S)
                await _linger(reader, writer)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _answer(self, reader: asyncio.StreamReader, peername: object) -> bytes:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            return _error(431, "Request Header Fields Too Large")
        except (TimeoutError, asyncio.IncompleteReadError):
            return _error(408, "Request Timeout")
        try:
            method, target, headers = parse_head(head[:-4])
        except BadRequest:
            return _error(400, "Bad Request")
        if not isinstance(peername, tuple) or not peername:
            return _error(400, "Bad Request")
        request = relay_request(method, target, headers, self.network_id, str(peername[0]))
        try:
            return await asyncio.wait_for(self._forward(request), ANSWER_TIMEOUT_S)
        except (TimeoutError, OSError, ValueError):
            return _error(502, "Bad Gateway")

    async def _forward(self, request: bytes) -> bytes:
        relay_reader, relay_writer = await asyncio.open_unix_connection(self.socket_path)
        try:
            relay_writer.write(request)
            await relay_writer.drain()
            chunks, total = [], 0
            while chunk := await relay_reader.read(64 * 1024):
                total += len(chunk)
                if total > MAX_ANSWER_BYTES:
                    raise ValueError("answer too big")
                chunks.append(chunk)
            if total == 0:
                raise ValueError("empty answer")
            return b"".join(chunks)
        finally:
            relay_writer.close()


# ---- for the driver that starts and stops proxies (stdlib here too: this file must run on its own) ----

METADATA_ADDRESS = "169.254.169.254"
SCRIPT = os.path.abspath(__file__)


def command(network_id: str, socket_path: str, pidfile: str, *, listen: str = f"{METADATA_ADDRESS}:80") -> list[str]:
    """The argv that starts a proxy (prefix it with `ip netns exec NS`): by path and isolated (-I), so that only
    the standard library loads, whatever the environment says."""
    return [sys.executable, "-I", SCRIPT, "--network-id", network_id, "--listen", listen,
            "--socket", socket_path, "--pidfile", pidfile]


def running_pid(pidfile: str) -> int | None:
    """The pid in the pid file if that process is still the proxy that wrote it (pids get reused)."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    argv = running_argv(pid)
    mine = any(part.endswith(("metadata_proxy.py", ".metadata_proxy")) for part in argv)
    return pid if mine and _alive(pid) and any(argv[i:i + 2] == ["--pidfile", pidfile] for i in range(len(argv))) \
        else None


def running_argv(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that does not reap (e.g. PID 1 of a container)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def stop(pidfile: str, *, timeout: float = 5.0) -> None:
    """SIGTERM the proxy (SIGKILL after `timeout`) and remove its pid file."""
    pid = running_pid(pidfile)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pidfile)


# ---- the program ----


def _listen_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def _write_pidfile(path: str) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(temporary, path)


def _daemonize(pidfile: str) -> None:
    """Detach like a classic daemon; the starting process exits 0 only once the pid file is written."""
    ready_read, ready_write = os.pipe()
    if os.fork() > 0:
        os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:
            os._exit(0 if ready.read(1) == b"1" else 1)
    os.close(ready_read)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    _write_pidfile(pidfile)
    os.write(ready_write, b"1")
    os.close(ready_write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--network-id", required=True)
    parser.add_argument("--listen", type=_listen_address, default=("169.254.169.254", 80))
    parser.add_argument("--socket", required=True, help="the agent's metadata relay (unix socket)")
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--foreground", action="store_true")
    args = parser.parse_args(argv)
    try:
        proxy = Proxy(args.network_id, args.socket)
    except ValueError as exc:
        parser.error(str(exc))
    host, port = args.listen
    # Bound before daemonising: a failure to bind is the starting process's exit status.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        print(f"metadata proxy: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    if args.foreground:
        _write_pidfile(args.pidfile)
    else:
        _daemonize(args.pidfile)
    try:
        asyncio.run(_serve(proxy, listener))
    finally:
        with contextlib.suppress(OSError):
            with open(args.pidfile) as handle:
                mine = handle.read().strip() == str(os.getpid())
            if mine:
                os.unlink(args.pidfile)
    return 0


async def _serve(proxy: Proxy, listener: socket.socket) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await asyncio.start_server(proxy.handle, sock=listener, limit=MAX_HEAD_BYTES)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    sys.exit(main())
