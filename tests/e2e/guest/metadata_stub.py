"""A one-request HTTP server on stdin/stdout, for QEMU user networking's `guestfwd=...-cmd:` which starts it
for each connection the guest opens to the forwarded address. Serves the files under argv[1]; 404 otherwise.

Usage: python metadata_stub.py DIR   (the guest's GET /openstack/latest/meta_data.json reads DIR/openstack/...)
"""

from __future__ import annotations

import sys
from pathlib import Path


def response(root: Path, request_line: str) -> bytes:
    parts = request_line.split()
    path = parts[1] if len(parts) >= 2 and parts[0] == "GET" else ""
    target = (root / path.lstrip("/")).resolve()
    if path and target.is_file() and target.is_relative_to(root.resolve()):
        body, status = target.read_bytes(), "200 OK"
    else:
        body, status = b"not found\n", "404 Not Found"
    head = f"HTTP/1.0 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def main() -> None:
    stdin = sys.stdin.buffer
    request_line = stdin.readline().decode("latin-1")
    while stdin.readline().strip():  # headers
        pass
    sys.stdout.buffer.write(response(Path(sys.argv[1]), request_line))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
