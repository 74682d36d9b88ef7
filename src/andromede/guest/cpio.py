"""A newc ("070701") cpio archive builder for initramfs images: files owned by root, mtime 0, so the same
tree always gives the same bytes, and device nodes without needing root on the build host."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import PurePosixPath

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"


@dataclass(frozen=True)
class Entry:
    mode: int
    data: bytes = b""
    uid: int = 0
    gid: int = 0
    rdev: tuple[int, int] = (0, 0)


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


def _clean(path: str) -> str:
    clean = PurePosixPath("/", path).as_posix().lstrip("/")
    if not clean or ".." in clean.split("/"):
        raise ValueError(f"bad archive path: {path!r}")
    return clean


class Archive:
    """An in-memory tree; parents of every entry are created as 0755 directories."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _put(self, path: str, entry: Entry) -> None:
        path = _clean(path)
        parent = PurePosixPath(path).parent
        while parent.as_posix() != ".":
            self.entries.setdefault(parent.as_posix(), Entry(stat.S_IFDIR | 0o755))
            parent = parent.parent
        self.entries[path] = entry

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        self._put(path, Entry(stat.S_IFDIR | mode))

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self._put(path, Entry(stat.S_IFREG | mode, data))

    def add_symlink(self, path: str, target: str) -> None:
        self._put(path, Entry(stat.S_IFLNK | 0o777, target.encode()))

    def add_char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._put(path, Entry(stat.S_IFCHR | mode, rdev=(major, minor)))

    def to_bytes(self) -> bytes:
        chunks = []
        for ino, path in enumerate(sorted(self.entries), start=1):
            chunks.append(_record(ino, path, self.entries[path]))
        chunks.append(_record(0, TRAILER, Entry(0)))
        return b"".join(chunks)


def _record(ino: int, name: str, entry: Entry) -> bytes:
    encoded = name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = (ino, entry.mode, entry.uid, entry.gid, nlink, 0, len(entry.data), 0, 0,
              entry.rdev[0], entry.rdev[1], len(encoded), 0)
    header = NEWC_MAGIC + b"".join(b"%08X" % value for value in fields)
    return header + encoded + _pad(len(header) + len(encoded)) + entry.data + _pad(len(entry.data))
