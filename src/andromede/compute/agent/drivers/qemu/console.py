"""The serial console log: QEMU appends to a file it cannot cap, so the driver bounds what it keeps and reads.

QEMU opens the log with O_APPEND (`-chardev file,append=on`), so the driver may shrink the file under a running
guest: QEMU's next write lands at the new end, not at its old offset (no sparse hole). Between reading the tail and
truncating, a few bytes the guest writes can land before the kept tail instead of after it; nothing is lost.
"""

from __future__ import annotations

import os
from pathlib import Path

# console_output never reads more than this much of the log, however long it is.
READ_LIMIT_BYTES = 1024 * 1024
# The log is cut back to READ_LIMIT_BYTES whenever the driver sees it grown past this.
TRIM_THRESHOLD_BYTES = 2 * READ_LIMIT_BYTES


def read_tail(path: Path, *, limit: int = READ_LIMIT_BYTES) -> str:
    """At most the last `limit` bytes, starting at a line boundary when the file was longer."""
    return _tail_bytes(path, limit).decode("utf-8", errors="replace")


def _tail_bytes(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as log:
            size = os.fstat(log.fileno()).st_size
            if size > limit:
                log.seek(size - limit)
                data = log.read(limit)
                data = data[data.find(b"\n") + 1 :] if b"\n" in data else data
            else:
                data = log.read()
    except FileNotFoundError:
        return b""
    return data


def last_lines(text: str, count: int | None) -> str:
    """The last `count` newline-terminated lines (a trailing partial line counts as one)."""
    if count is None:
        return text
    if count <= 0:
        return ""
    end = len(text) - 1 if text.endswith("\n") else len(text)
    start = end
    for _ in range(count):
        start = text.rfind("\n", 0, start)
        if start < 0:
            return text
    return text[start + 1 :]


def trim(path: Path, *, threshold: int = TRIM_THRESHOLD_BYTES, keep: int = READ_LIMIT_BYTES) -> bool:
    """Cut the log back to its last `keep` bytes when it is larger than `threshold`; True when it did."""
    try:
        if path.stat().st_size <= threshold:
            return False
    except FileNotFoundError:
        return False
    tail = _tail_bytes(path, keep)
    with open(path, "ab") as log:  # O_APPEND like QEMU, so interleaved writes land after, never over, each other
        log.truncate(0)
        log.write(tail)
    return True
