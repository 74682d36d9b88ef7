"""The "tiny" guest image: Debian's kernel and an initramfs with busybox, dropbear, curl and sudo (what CirrOS
offers a test script over SSH), on a BIOS-bootable raw disk.

`build_tiny_image(cache_dir)` returns the path of `tiny.raw`, building it only when the recipe (this package's
code and the guest files under `tiny/`) changed; `tiny.json` beside it records what went in. The packages are
the ones the host's apt picks at build time (`refresh=True` re-resolves them and rebuilds if they moved).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from andromede.guest import debs, elf, kmod
from andromede.guest.cpio import Archive
from andromede.guest.debs import Package
from andromede.guest.disk import make_boot_disk
from andromede.guest.proc import BuildError, run

log = logging.getLogger(__name__)

IMAGE_NAME = "tiny.raw"
MANIFEST_NAME = "tiny.json"
IMAGE_FORMAT = "raw"
# Debian packages the build host needs (the guest's own packages are only downloaded, never installed).
HOST_PACKAGES = ("apt", "dpkg", "dosfstools", "mtools", "syslinux", "syslinux-common")

KERNEL_METAPACKAGE = "linux-image-amd64"
# Debian's dynamically linked busybox, not busybox-static: the static build's shell runs its own applet for a
# command name before looking at PATH, so a user's `ping` would be busybox's root-only one, never iputils'.
BUSYBOX_PACKAGE = "busybox"
DROPBEAR_PACKAGE = "dropbear-bin"
# The tools a CirrOS guest offers scripts besides busybox: curl (TLS through OpenSSL, Debian's CA bundle), sudo
# (libpam-modules brings the two PAM modules its PAM stack uses) and a ping any user may run: iputils' ping,
# setuid root as Debian shipped it before file capabilities (it keeps only CAP_NET_RAW, for its raw socket, and
# drops the rest at once). Not over ICMP datagram sockets (ping_group_range stays closed): in the floating-IP
# end-to-end test, late in the guest's life (after a NIC hot-unplug), an echo reply to one stopped the whole guest,
# without a word on the console, every time; raw sockets, busybox's before and iputils' now, never did. (That stop
# may have been the host's memory-cgroup kill that QEMU's TCG cache cap later ended; unproven, so raw sockets stay.)
TOOL_PACKAGES = ("curl", "ca-certificates", "sudo", "libpam-modules", "iputils-ping")
# Depends that serve only an installed system's maintainer scripts (update-ca-certificates, debconf, perl...).
NOT_IN_GUEST = ("debconf", "perl-base", "init-system-helpers", "dpkg", "openssl", "usrmerge")
PACKAGE_LIMIT = 80
PROGRAMS = {"bin/busybox": "bin/busybox", "usr/sbin/dropbear": "usr/sbin/dropbear",
            "usr/bin/dropbearkey": "usr/bin/dropbearkey", "usr/bin/curl": "usr/bin/curl",
            "usr/bin/sudo": "usr/bin/sudo", "bin/ping": "bin/ping"}
SETUID_PROGRAMS = frozenset({"usr/bin/sudo", "bin/ping"})
PAM_DIR = "lib/x86_64-linux-gnu/security"
# Shared objects loaded with dlopen() from a fixed path, kept at that path (sudo refuses group/other-writable ones).
PLUGINS = {"usr/libexec/sudo/sudoers.so": "usr/libexec/sudo/sudoers.so",
           f"{PAM_DIR}/pam_permit.so": f"{PAM_DIR}/pam_permit.so",
           f"{PAM_DIR}/pam_deny.so": f"{PAM_DIR}/pam_deny.so"}
LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "lib", "usr/lib", "usr/libexec/sudo")
CA_CERTIFICATES_DIR = "usr/share/ca-certificates"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"  # where Debian's libcurl and OpenSSL look by default
GUEST_LIBRARY_DIR = "lib/x86_64-linux-gnu"

# Load order matters only through depends= (resolved at build time), but the CD-ROM drivers go first so
# their asynchronous probe runs while the rest loads and DHCP waits.
MODULES = ("ata_piix", "ahci", "sr_mod", "virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "sd_mod",
           "e1000", "e1000e", "isofs", "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "button", "evdev",
           "virtio_rng")
REQUIRED_MODULES = frozenset({"virtio_pci", "virtio_net", "virtio_blk", "isofs"})
KERNEL_CMDLINE = "console=ttyS0 quiet panic=-1"

SYSLINUX_CFG = f"""SERIAL 0 115200
DEFAULT tiny
PROMPT 0
TIMEOUT 0
LABEL tiny
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND {KERNEL_CMDLINE}
"""

# The guest's static files: (path in the initramfs, file under tiny/, mode).
GUEST_FILES = (
    ("init", "init", 0o755),
    ("etc/inittab", "inittab", 0o644),
    ("etc/tiny/json.awk", "json.awk", 0o644),
    ("etc/tiny/udhcpc.script", "udhcpc.script", 0o755),
    ("etc/tiny/shutdown", "shutdown", 0o755),
    ("etc/acpi/PWRF/00000080", "acpi-power", 0o755),
)
ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\ntiny:x:1000:1000:tiny:/home/tiny:/bin/sh\n",
    "etc/group": "root:x:0:\ntty:x:5:\ntiny:x:1000:\n",
    "etc/shells": "/bin/sh\n/bin/ash\n",
    "etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
    "etc/profile": "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\u@\\h:\\w\\$ '\n",
    "etc/motd": "Andromède tiny guest (busybox, dropbear, curl, sudo, ping). It keeps nothing across reboots.\n",
    # sudo never asks for a password here: only NOPASSWD rules work, any password check is refused.
    "etc/pam.d/sudo": "auth required pam_deny.so\naccount required pam_permit.so\n"
                      "password required pam_deny.so\nsession required pam_permit.so\n",
    "etc/pam.d/other": "auth required pam_deny.so\naccount required pam_deny.so\n"
                       "password required pam_deny.so\nsession required pam_deny.so\n",
}
# As CirrOS' cirros user: root without a password (the guest has no passwords at all).
SUDOERS = ("Defaults env_reset\nDefaults secure_path=\"/usr/sbin:/usr/bin:/sbin:/bin\"\n"
           "root ALL=(ALL:ALL) ALL\ntiny ALL=(ALL) NOPASSWD: ALL\n")
# "*": no password login at all (dropbear refuses empty passwords and '!'-locked accounts even with a key).
SHADOW = "root:*:19000:0:99999:7:::\ntiny:*:19000:0:99999:7:::\n"


@dataclass(frozen=True)
class Inputs:
    kernel: Package
    busybox: Package
    dropbear: Package
    libraries: tuple[Package, ...]
    tools: tuple[Package, ...] = ()

    @property
    def all(self) -> list[Package]:
        return [self.kernel, self.busybox, self.dropbear, *self.tools, *self.libraries]


def default_cache_dir() -> Path:
    """$ANDROMEDE_CACHE_DIR, else $XDG_CACHE_HOME/andromede, else ~/.cache/andromede."""
    if os.environ.get("ANDROMEDE_CACHE_DIR"):
        return Path(os.environ["ANDROMEDE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "andromede"


def build_tiny_image(cache_dir: Path, *, refresh: bool = False) -> Path:
    """Path of the tiny guest's raw disk image under `cache_dir/tiny/`, built if missing or out of date."""
    out_dir = Path(cache_dir) / "tiny"
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = recipe_digest()
    with _locked(out_dir / ".lock"):
        image = cached_image(out_dir, wanted)
        if image is not None and not refresh:
            return image
        inputs = resolve_inputs()
        if image is not None and read_manifest(out_dir).get("packages") == package_versions(inputs):
            return image
        return _build(Path(cache_dir), out_dir, wanted, inputs)


# ---- cache ----

def recipe_digest() -> str:
    """Hash of everything that decides the image besides the packages: the builder's code and guest files."""
    digest = hashlib.sha256()
    package = resources.files("andromede.guest")
    for name in sorted(item.name for item in package.iterdir() if item.name.endswith(".py")):
        digest.update(name.encode() + b"\0" + package.joinpath(name).read_bytes() + b"\0")
    for _, name, mode in GUEST_FILES:
        digest.update(name.encode() + b"\0" + guest_file(name) + b"\0" + str(mode).encode())
    return digest.hexdigest()


def read_manifest(out_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_image(out_dir: Path, recipe: str) -> Path | None:
    """The image if its manifest was written for `recipe` and the file still has the recorded hash."""
    manifest = read_manifest(out_dir)
    image = out_dir / IMAGE_NAME
    if manifest.get("recipe") != recipe or not image.exists():
        return None
    if image.stat().st_size != manifest.get("size") or debs.sha256_file(image) != manifest.get("sha256"):
        return None
    return image


def package_versions(inputs: Inputs) -> dict[str, str]:
    return {package.name: package.version for package in inputs.all}


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per cache dir; a second one waits, then finds the image built."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ---- packages ----

def resolve_inputs() -> Inputs:
    """What apt would install now: the newest kernel, busybox, dropbear, the tools and their libraries."""
    top = debs.candidates([KERNEL_METAPACKAGE, BUSYBOX_PACKAGE, DROPBEAR_PACKAGE])
    missing = {KERNEL_METAPACKAGE, BUSYBOX_PACKAGE, DROPBEAR_PACKAGE} - set(top)
    if missing:
        raise debs.PackageError(f"apt has no candidate for {', '.join(sorted(missing))} (run apt-get update?)")
    kernel_name = debs.newest_kernel(top[KERNEL_METAPACKAGE])
    dropbear = top[DROPBEAR_PACKAGE]
    roots = [kernel_name, *top[BUSYBOX_PACKAGE].depends, *dropbear.depends, *TOOL_PACKAGES]
    found = {p.name: p for p in debs.closure(roots, debs.candidates, limit=PACKAGE_LIMIT, leaves=[kernel_name],
                                             skip=NOT_IN_GUEST)}
    missing = {kernel_name, *TOOL_PACKAGES} - set(found)
    if missing:
        raise debs.PackageError(f"apt has no candidate for {', '.join(sorted(missing))}")
    kernel = found.pop(kernel_name)
    tools = tuple(found.pop(name) for name in TOOL_PACKAGES)
    return Inputs(kernel, top[BUSYBOX_PACKAGE], dropbear, tuple(found.values()), tools)


def prune_debs(deb_dir: Path, keep: list[Path]) -> None:
    """Drop downloaded .debs that this build no longer uses (old kernels are 70 MB each)."""
    kept = {path.name for path in keep}
    for path in deb_dir.glob("*.deb"):
        if path.name not in kept:
            path.unlink(missing_ok=True)


# ---- build ----

def _build(cache_dir: Path, out_dir: Path, recipe: str, inputs: Inputs) -> Path:
    started = time.monotonic()
    deb_dir = cache_dir / "debs"
    files = debs.download(inputs.all, deb_dir)
    with tempfile.TemporaryDirectory(prefix="build-", dir=out_dir) as tmp:
        work = Path(tmp)
        kernel_root, userland = work / "kernel", work / "userland"
        debs.unpack(files[inputs.kernel.name], kernel_root)
        for package in [inputs.busybox, inputs.dropbear, *inputs.tools, *inputs.libraries]:
            debs.unpack(files[package.name], userland)
        modules = kmod.ModuleTree.scan(modules_root(kernel_root))
        order = modules.order(MODULES, REQUIRED_MODULES)
        initrd = work / "initrd.img"
        initrd.write_bytes(gzip.compress(initramfs(userland, modules, order).to_bytes(), compresslevel=6, mtime=0))
        (work / "syslinux.cfg").write_text(SYSLINUX_CFG)
        boot_files = {"vmlinuz": kernel_image(kernel_root, modules.release), "initrd.img": initrd,
                      "syslinux.cfg": work / "syslinux.cfg"}
        make_boot_disk(work / IMAGE_NAME, boot_files, work)
        manifest = make_manifest(work / IMAGE_NAME, recipe, inputs, modules.release, order,
                                 {name: path.stat().st_size for name, path in boot_files.items()})
        manifest["build_seconds"] = round(time.monotonic() - started, 1)
        os.replace(work / IMAGE_NAME, out_dir / IMAGE_NAME)
    _write_json(out_dir / MANIFEST_NAME, manifest)
    prune_debs(deb_dir, list(files.values()))
    log.info("built %s (%d bytes) in %.1f s", out_dir / IMAGE_NAME, manifest["size"], manifest["build_seconds"])
    return out_dir / IMAGE_NAME


def modules_root(kernel_root: Path) -> Path:
    for base in ("lib/modules", "usr/lib/modules"):
        releases = sorted(p for p in (kernel_root / base).glob("*") if p.is_dir())
        if releases:
            return releases[-1]
    raise BuildError(f"no lib/modules/<release> in the kernel package unpacked at {kernel_root}")


def kernel_image(kernel_root: Path, release: str) -> Path:
    path = kernel_root / "boot" / f"vmlinuz-{release}"
    if not path.exists():
        raise BuildError(f"kernel package has no boot/vmlinuz-{release}")
    return path


def guest_file(name: str) -> bytes:
    return resources.files("andromede.guest").joinpath("tiny", name).read_bytes()


def initramfs(userland: Path, modules: kmod.ModuleTree, order: list[str]) -> Archive:
    archive = Archive()
    for path, mode in (("dev", 0o755), ("proc", 0o555), ("sys", 0o555), ("run", 0o755), ("tmp", 0o1777),
                       ("root", 0o700), ("home", 0o755), ("mnt", 0o755), ("var/log", 0o755)):
        archive.add_dir(path, mode)
    archive.add_char_device("dev/console", 5, 1)
    archive.add_symlink("bin/sh", "busybox")
    for path, name, mode in GUEST_FILES:
        archive.add_file(path, guest_file(name), mode)
    for path, text in ETC_FILES.items():
        archive.add_file(path, text.encode())
    archive.add_file("etc/shadow", SHADOW.encode(), 0o600)
    archive.add_file("etc/sudoers", SUDOERS.encode(), 0o440)
    archive.add_file(CA_BUNDLE, ca_bundle(userland / CA_CERTIFICATES_DIR))
    add_programs(archive, userland, PROGRAMS, setuid=SETUID_PROGRAMS, plugins=PLUGINS)
    for alias in ("bin/ping4", "bin/ping6"):  # before busybox --install links its own (root-only) ping6
        archive.add_symlink(alias, "ping")
    add_modules(archive, modules, order)
    return archive


def add_modules(archive: Archive, modules: kmod.ModuleTree, order: list[str]) -> None:
    listing = []
    for name in order:
        rel = f"{modules.release}/{modules.relative_path(name)}"
        archive.add_file(f"lib/modules/{rel}", kmod.read_module(modules.index[name]))
        listing.append(rel)
    archive.add_file("etc/tiny/modules", ("\n".join(listing) + "\n").encode())


def ca_bundle(certificates: Path) -> bytes:
    """The PEM bundle update-ca-certificates would write with every certificate enabled (Debian's default)."""
    pems = [path.read_bytes() for path in sorted(certificates.rglob("*.crt"))]
    if not pems:
        raise BuildError(f"no *.crt under {certificates}: is ca-certificates unpacked?")
    return b"".join(pem if pem.endswith(b"\n") else pem + b"\n" for pem in pems)


def add_programs(archive: Archive, root: Path, programs: Mapping[str, str], *,
                 setuid: Collection[str] = frozenset(), plugins: Mapping[str, str] | None = None) -> None:
    """Dynamically linked programs (source path -> guest path) from an unpacked tree, with their interpreter and
    shared libraries; `setuid` names guest paths installed setuid root, `plugins` shared objects a program
    dlopen()s from a fixed path (their libraries come along too)."""
    binaries = {}
    for source, dest in programs.items():
        binaries[dest] = (root / source).read_bytes()
        archive.add_file(dest, binaries[dest], 0o4755 if dest in setuid else 0o755)
    for source, dest in (plugins or {}).items():
        plugin = (root / source).read_bytes()
        archive.add_file(dest, plugin, 0o644)
        binaries[dest] = plugin
    for soname, data in shared_libraries(root, list(binaries.values())).items():
        archive.add_file(f"{GUEST_LIBRARY_DIR}/{soname}", data, 0o755)
    interpreters = {elf.interpreter(data) for data in binaries.values()} - {None}
    for interp in interpreters:
        assert interp is not None
        guest_copy = f"/{GUEST_LIBRARY_DIR}/{Path(interp).name}"
        if interp != guest_copy:
            archive.add_symlink(interp, guest_copy)


def shared_libraries(root: Path, binaries: list[bytes]) -> dict[str, bytes]:
    """soname -> bytes of every library the binaries need, transitively, plus their ELF interpreter."""
    found: dict[str, bytes] = {}
    pending = [name for data in binaries for name in elf.needed(data)]
    pending += [Path(interp).name for data in binaries if (interp := elf.interpreter(data))]
    while pending:
        soname = pending.pop()
        if soname in found:
            continue
        found[soname] = find_library(root, soname).read_bytes()
        pending.extend(elf.needed(found[soname]))
    return found


def find_library(root: Path, soname: str) -> Path:
    for directory in LIBRARY_DIRS:
        candidate = resolve_inside(root, Path(directory) / soname)
        if candidate is not None:
            return candidate
    raise BuildError(f"shared library {soname} is in none of the unpacked packages")


def resolve_inside(root: Path, rel: Path, hops: int = 20) -> Path | None:
    """Follow symlinks as if `root` were `/` (Debian packages ship absolute links such as /lib64/ld-linux...)."""
    path = root / rel
    for _ in range(hops):
        if not path.is_symlink():
            return path if path.is_file() else None
        target = Path(os.readlink(path))
        path = root / target.relative_to("/") if target.is_absolute() else path.parent / target
    return None


def make_manifest(image: Path, recipe: str, inputs: Inputs, release: str, order: list[str],
                  boot_sizes: dict[str, int]) -> dict[str, Any]:
    return {
        "image": IMAGE_NAME,
        "format": IMAGE_FORMAT,
        "size": image.stat().st_size,
        "sha256": debs.sha256_file(image),
        "recipe": recipe,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kernel": {"package": inputs.kernel.name, "version": inputs.kernel.version, "release": release},
        "busybox": {"package": inputs.busybox.name, "version": inputs.busybox.version},
        "dropbear": {"package": inputs.dropbear.name, "version": inputs.dropbear.version},
        "tools": {package.name: package.version for package in inputs.tools},
        "packages": package_versions(inputs),
        "syslinux": host_package_version("syslinux"),
        "cmdline": KERNEL_CMDLINE,
        "modules": order,
        "boot_files": boot_sizes,
    }


def host_package_version(name: str) -> str | None:
    try:
        return run(["dpkg-query", "-W", "-f", "${Version}", name], 30).strip() or None
    except BuildError:
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)

