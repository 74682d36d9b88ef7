"""Kernel modules of an unpacked Debian kernel package: find them, order them by `depends=`, read them."""

from __future__ import annotations

import gzip
import lzma
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from andromede.guest import elf

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz")


class ModuleError(Exception):
    pass


def module_name(path: str | Path) -> str:
    """`kernel/drivers/net/virtio_net.ko.xz` -> `virtio_net` (dashes and underscores are the same to the kernel)."""
    name = Path(path).name
    for suffix in MODULE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return normalize(name)


def normalize(name: str) -> str:
    return name.strip().replace("-", "_")


def read_module(path: Path) -> bytes:
    """The module's ELF bytes, decompressed if the package ships it as .ko.xz or .ko.gz."""
    raw = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(raw)
    if path.name.endswith(".gz"):
        return gzip.decompress(raw)
    return raw


def load_order(wanted: Iterable[str], depends_of: Callable[[str], list[str]],
               builtin: Iterable[str] = ()) -> list[str]:
    """The modules to insmod, dependencies first, each once; built-in modules are left out.

    `depends_of(name)` returns a module's direct dependencies and raises KeyError for an unknown module.
    """
    built_in = {normalize(name) for name in builtin}
    done: set[str] = set()
    order: list[str] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        name = normalize(name)
        if name in built_in or name in done:
            return
        if name in chain:
            raise ModuleError(f"module dependency cycle: {' -> '.join((*chain, name))}")
        try:
            deps = depends_of(name)
        except KeyError:
            needed_by = f" (needed by {chain[-1]})" if chain else ""
            raise ModuleError(f"kernel module {name}{needed_by} not found") from None
        for dep in deps:
            visit(dep, (*chain, name))
        done.add(name)
        order.append(name)

    for name in wanted:
        visit(name, ())
    return order


@dataclass
class ModuleTree:
    """/lib/modules/<release> of an unpacked kernel package."""

    root: Path
    index: dict[str, Path] = field(default_factory=dict)
    builtin: set[str] = field(default_factory=set)
    _depends: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def scan(cls, root: Path) -> ModuleTree:
        tree = cls(root)
        for path in sorted(root.rglob("*.ko*")):
            if path.name.endswith(MODULE_SUFFIXES):
                tree.index.setdefault(module_name(path), path)
        builtin_list = root / "modules.builtin"
        if builtin_list.exists():
            tree.builtin = {module_name(line) for line in builtin_list.read_text().split() if line}
        return tree

    @property
    def release(self) -> str:
        return self.root.name

    def depends_of(self, name: str) -> list[str]:
        if name not in self._depends:
            self._depends[name] = elf.module_depends(read_module(self.index[name]))
        return self._depends[name]

    def has(self, name: str) -> bool:
        name = normalize(name)
        return name in self.index or name in self.builtin

    def order(self, modules: Iterable[str], required: Iterable[str] = ()) -> list[str]:
        """Load order for `modules`, dependencies first; those not in `required` are left out if this kernel
        lacks them, a missing required one raises ModuleError."""
        must = {normalize(name) for name in required}
        wanted = [name for name in modules if normalize(name) in must or self.has(name)]
        return load_order(wanted, self.depends_of, self.builtin)

    def relative_path(self, name: str) -> str:
        """Where the module goes under /lib/modules/<release>/ in the guest (always uncompressed)."""
        rel = self.index[name].relative_to(self.root).as_posix()
        for suffix in (".xz", ".gz"):
            rel = rel.removesuffix(suffix)
        return rel
