"""Debian packages through the host's apt: which version apt would pick, download it, unpack it.

Nothing is installed on the host: `apt-get download` fetches the .deb, `dpkg -x` unpacks it into a folder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from andromede.guest.proc import BuildError, run

APT_TIMEOUT_S = 120
DOWNLOAD_TIMEOUT_S = 600
UNPACK_TIMEOUT_S = 300


class PackageError(BuildError):
    pass


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    architecture: str
    sha256: str
    depends: tuple[str, ...] = ()

    @property
    def deb_name(self) -> str:
        """The file name `apt-get download` gives it (an epoch's colon is written %3a)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.architecture}.deb"


def parse_record(text: str) -> dict[str, str]:
    """The first deb822 paragraph of `text` (continuation lines are joined with newlines)."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        if line[0] in " \t" and key:
            fields[key] += "\n" + line.strip()
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        fields[key] = value.strip()
    return fields


def parse_depends(value: str) -> list[str]:
    """Package names of a Depends field, the first of each `a | b` alternative, without versions or arch."""
    names = []
    for clause in value.split(","):
        first = clause.split("|")[0].strip()
        name = re.split(r"[\s(\[<:]", first, maxsplit=1)[0]
        if name:
            names.append(name)
    return names


def package_from_record(fields: dict[str, str]) -> Package:
    try:
        depends = [*parse_depends(fields.get("Pre-Depends", "")), *parse_depends(fields.get("Depends", ""))]
        return Package(fields["Package"], fields["Version"], fields["Architecture"], fields.get("SHA256", ""),
                       tuple(dict.fromkeys(depends)))
    except KeyError as exc:
        raise PackageError(f"incomplete package record, no {exc}") from None


def candidate(name: str) -> Package:
    """The version `apt-get install name` would pick, from the host's package lists."""
    try:
        out = run(["apt-cache", "show", "--no-all-versions", name], APT_TIMEOUT_S)
    except BuildError as exc:
        raise PackageError(f"apt has no candidate for {name} (run apt-get update?): {exc}") from None
    fields = parse_record(out)
    if not fields:
        raise PackageError(f"apt knows no package {name} (run apt-get update?)")
    return package_from_record(fields)


def newest_kernel(meta: Package) -> str:
    """The versioned kernel package a `linux-image-<flavour>` metapackage points at."""
    flavour = meta.name.removeprefix("linux-image-")
    for dep in meta.depends:
        if re.fullmatch(rf"linux-image-\d[\w.+~-]*-{re.escape(flavour)}", dep):
            return dep
    raise PackageError(f"{meta.name} {meta.version} depends on no linux-image-*-{flavour} package")


def closure(roots: Iterable[str], lookup: Callable[[str], Package], limit: int = 40) -> list[Package]:
    """The packages named and everything they depend on; names `lookup` cannot resolve are skipped."""
    found: dict[str, Package] = {}
    queue = list(roots)
    while queue:
        name = queue.pop(0)
        if name in found:
            continue
        try:
            package = lookup(name)
        except PackageError:
            continue
        found[name] = package
        if len(found) > limit:
            raise PackageError(f"dependencies of {list(roots)} run past {limit} packages")
        queue.extend(package.depends)
    return list(found.values())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(packages: Iterable[Package], dest: Path) -> dict[str, Path]:
    """The .deb of each package in `dest`, fetched by `apt-get download` unless already there and intact."""
    dest.mkdir(parents=True, exist_ok=True)
    packages = list(packages)

    def intact(package: Package) -> bool:
        path = dest / package.deb_name
        return path.exists() and (not package.sha256 or sha256_file(path) == package.sha256)

    missing = [p for p in packages if not intact(p)]
    if missing:
        run(["apt-get", "download", "-q", *(f"{p.name}={p.version}" for p in missing)], DOWNLOAD_TIMEOUT_S, dest)
        broken = [p.deb_name for p in missing if not intact(p)]
        if broken:
            raise PackageError(f"apt-get download left missing or corrupt files: {broken}")
    return {p.name: dest / p.deb_name for p in packages}


def unpack(deb: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    run(["dpkg", "-x", str(deb), str(dest)], UNPACK_TIMEOUT_S)
