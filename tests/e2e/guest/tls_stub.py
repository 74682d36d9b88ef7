"""metadata_stub.py behind TLS: a one-request HTTPS server on stdin/stdout for QEMU's `guestfwd=...-cmd:`.
The TLS runs in memory (ssl.MemoryBIO), since stdin/stdout are pipes, not a socket.

Usage: python tls_stub.py CERT KEY DIR
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from metadata_stub import response  # run as a script, beside it

T = TypeVar("T")


class Tls:
    def __init__(self, cert: str, key: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.conn = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def pump(self, operation: Callable[[], T]) -> T:
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self.flush()
                data = os.read(0, 65536)
                if not data:
                    raise EOFError from None
                self.incoming.write(data)
                continue
            self.flush()
            return result

    def flush(self) -> None:
        data = self.outgoing.read()
        if data:
            os.write(1, data)


def main() -> None:
    cert, key, root = sys.argv[1:4]
    tls = Tls(cert, key)
    try:
        tls.pump(tls.conn.do_handshake)
        request = b""
        while b"\r\n\r\n" not in request:
            request += tls.pump(lambda: tls.conn.read(65536))
        tls.pump(lambda: tls.conn.write(response(Path(root), request.split(b"\r\n", 1)[0].decode("latin-1"))))
        tls.pump(tls.conn.unwrap)
    except (EOFError, ssl.SSLError, OSError):
        pass  # the client gave up (e.g. it did not trust the certificate): nothing more to say


if __name__ == "__main__":
    main()
