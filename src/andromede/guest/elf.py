"""Just enough ELF64 reading to pack a guest: a kernel module's `.modinfo` and a program's shared libraries."""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
_PT_INTERP = 3
_SHT_DYNAMIC = 6
_DT_NEEDED = 1


class ElfError(ValueError):
    pass


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    offset: int
    size: int
    link: int


def _header(data: bytes) -> tuple[int, int, int, int, int, int, int]:
    """(phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx) of a little-endian ELF64 file."""
    if data[:4] != ELF_MAGIC:
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("only little-endian ELF64 is supported")
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 0x36)
    return phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx


def _cstring(data: bytes, offset: int) -> str:
    end = data.index(b"\0", offset)
    return data[offset:end].decode("utf-8", "replace")


def sections(data: bytes) -> list[Section]:
    _, shoff, _, _, shentsize, shnum, shstrndx = _header(data)
    raw = []
    for i in range(shnum):
        name, kind, _flags, _addr, offset, size, link = struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize)
        raw.append((name, kind, offset, size, link))
    if not raw:
        return []
    names_at = raw[shstrndx][2]
    return [Section(_cstring(data, names_at + n), k, o, s, lk) for n, k, o, s, lk in raw]


def section_bytes(data: bytes, name: str) -> bytes | None:
    for section in sections(data):
        if section.name == name:
            return data[section.offset:section.offset + section.size]
    return None


def modinfo(data: bytes) -> dict[str, list[str]]:
    """The `key=value` strings of a kernel module's .modinfo section (a key such as `alias` may repeat)."""
    raw = section_bytes(data, ".modinfo")
    if raw is None:
        raise ElfError("no .modinfo section: not a kernel module")
    info: dict[str, list[str]] = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.decode("utf-8", "replace").partition("=")
        if sep:
            info.setdefault(key, []).append(value)
    return info


def module_depends(data: bytes) -> list[str]:
    """The modules a kernel module needs loaded first, from its `depends=` string (may be empty)."""
    values = modinfo(data).get("depends", [""])
    return [name for name in values[0].split(",") if name]


def interpreter(data: bytes) -> str | None:
    """The program interpreter (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2) of a dynamic executable."""
    phoff, _, phentsize, phnum, _, _, _ = _header(data)
    for i in range(phnum):
        kind, _flags, offset, _vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if kind == _PT_INTERP:
            return data[offset:offset + filesz].rstrip(b"\0").decode()
    return None


def needed(data: bytes) -> list[str]:
    """The DT_NEEDED sonames of a dynamic executable or library (empty for a static one)."""
    all_sections = sections(data)
    for section in all_sections:
        if section.type != _SHT_DYNAMIC:
            continue
        strtab = all_sections[section.link]
        names = []
        for pos in range(section.offset, section.offset + section.size, 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == 0:
                break
            if tag == _DT_NEEDED:
                names.append(_cstring(data, strtab.offset + value))
        return names
    return []
