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


def parse_records(text: str) -> list[dict[str, str]]:
    """The deb822 paragraphs of `text` (continuation lines are joined with newlines)."""
    records: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    key = ""
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if fields:
                records.append(fields)
            fields, key = {}, ""
        elif line[0] in " \t" and key:
            fields[key] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            key = key.strip()
            fields[key] = value.strip()
    return records


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


def candidates(names: Iterable[str]) -> dict[str, Package]:
    """The version `apt-get install` would pick for each name apt knows (one apt-cache call; virtual and
    unknown names are simply absent from the result)."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    try:
        out = run(["apt-cache", "show", "--no-all-versions", *names], APT_TIMEOUT_S)
    except BuildError:  # apt-cache fails only when it found none of them
        return {}
    found: dict[str, Package] = {}
    for fields in parse_records(out):
        package = package_from_record(fields)
        found.setdefault(package.name, package)
    return found


def newest_kernel(meta: Package) -> str:
    """The versioned kernel package a `linux-image-<flavour>` metapackage points at."""
    flavour = meta.name.removeprefix("linux-image-")
    for dep in meta.depends:
        if re.fullmatch(rf"linux-image-\d[\w.+~-]*-{re.escape(flavour)}", dep):
            return dep
    raise PackageError(f"{meta.name} {meta.version} depends on no linux-image-*-{flavour} package")


def closure(roots: Iterable[str], lookup: Callable[[list[str]], dict[str, Package]], *, limit: int = 40,
            leaves: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Package]:
    """The packages named and, except for `leaves`, everything they depend on, looked up a level at a time;
    names `lookup` does not resolve (virtual packages) and names in `skip` are left out."""
    stop = set(leaves)
    found: dict[str, Package] = {}
    tried: set[str] = set(skip)
    wanted = [name for name in dict.fromkeys(roots) if name not in tried]
    while wanted:
        tried.update(wanted)
        level = lookup(wanted)
        found.update(level)
        if len(found) > limit:
            raise PackageError(f"dependencies of {sorted(roots)} run past {limit} packages")
        deps = [dep for name, package in level.items() if name not in stop for dep in package.depends]
        wanted = [dep for dep in dict.fromkeys(deps) if dep not in tried]
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
