"""The tiny guest builder's pure parts: ELF reading, module ordering, apt records, cpio, MBR, cache decisions.

No network, no apt, no root: the guest scripts are checked with busybox only where the host has it.
"""

from __future__ import annotations

import dataclasses
import json
import lzma
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from andromede.guest import build, debs, disk, elf, kmod
from andromede.guest.cpio import TRAILER, Archive
from andromede.guest.debs import Package

TINY = Path(build.__file__).parent / "tiny"


# ---- a synthetic ELF64 writer, just rich enough for the reader under test ----

def make_elf(sections: dict[str, tuple[int, bytes]], interp: str | None = None) -> bytes:
    """sections: name -> (sh_type, data); a `.dynamic` section links to `.dynstr` when both are given."""
    names = b"\0" + b"".join(name.encode() + b"\0" for name in [*sections, ".shstrtab"])
    body = bytearray(b"\0" * 64)
    phoff = 0
    if interp is not None:
        phoff = len(body)
        body += b"\0" * 56
    placed = []
    for name, (kind, data) in [*sections.items(), (".shstrtab", (3, names))]:
        placed.append((name, kind, len(body), len(data)))
        body += data
    if interp is not None:
        interp_at = len(body)
        body += interp.encode() + b"\0"
        struct.pack_into("<IIQQQQQQ", body, phoff, 3, 4, interp_at, 0, 0, len(interp) + 1, len(interp) + 1, 1)
    shoff = len(body)
    body += b"\0" * 64  # the null section
    section_names = [name for name, *_ in placed]
    for name, kind, offset, size in placed:
        link = section_names.index(".dynstr") + 1 if name == ".dynamic" else 0
        body += struct.pack("<IIQQQQIIQQ", names.index(name.encode() + b"\0"), kind, 0, 0, offset, size,
                            link, 0, 1, 0)
    header = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, shoff, 0, 64, 56, 1 if interp else 0, 64,
                          len(placed) + 1, len(placed))
    body[:64] = header
    return bytes(body)


def make_module(depends: str, name: str = "x") -> bytes:
    info = f"license=GPL\0depends={depends}\0name={name}\0vermagic=6.1.0\0".encode()
    return make_elf({".text": (1, b"\x90" * 8), ".modinfo": (1, info)})


def make_program(needed: list[str], interp: str | None = "/lib64/ld-linux-x86-64.so.2") -> bytes:
    dynstr = b"\0"
    entries = b""
    for soname in needed:
        entries += struct.pack("<qQ", 1, len(dynstr))
        dynstr += soname.encode() + b"\0"
    entries += struct.pack("<qQ", 0, 0)
    return make_elf({".dynstr": (3, dynstr), ".dynamic": (6, entries)}, interp=interp)


# ---- ELF ----

def test_module_depends_and_modinfo() -> None:
    data = make_module("virtio_ring,virtio,net_failover", name="virtio_net")
    assert elf.module_depends(data) == ["virtio_ring", "virtio", "net_failover"]
    assert elf.modinfo(data)["name"] == ["virtio_net"]
    assert elf.module_depends(make_module("")) == []


def test_non_module_and_non_elf_are_refused() -> None:
    with pytest.raises(elf.ElfError):
        elf.modinfo(make_elf({".text": (1, b"\0")}))
    with pytest.raises(elf.ElfError):
        elf.sections(b"#!/bin/sh\n")


def test_needed_and_interpreter() -> None:
    program = make_program(["libtomcrypt.so.1", "libc.so.6"])
    assert elf.needed(program) == ["libtomcrypt.so.1", "libc.so.6"]
    assert elf.interpreter(program) == "/lib64/ld-linux-x86-64.so.2"
    static = make_elf({".text": (1, b"\x90")})
    assert elf.needed(static) == []
    assert elf.interpreter(static) is None


# ---- kernel modules ----

DEPS = {
    "virtio_net": ["virtio_ring", "virtio", "net_failover"],
    "net_failover": ["failover"],
    "failover": [],
    "virtio": [],
    "virtio_ring": [],
    "virtio_blk": ["virtio_ring", "virtio"],
    "isofs": ["cdrom"],
    "cdrom": [],
}


def test_load_order_puts_dependencies_first_once() -> None:
    order = kmod.load_order(["virtio_net", "virtio_blk", "isofs"], lambda name: DEPS[name])
    assert order == ["virtio_ring", "virtio", "failover", "net_failover", "virtio_net", "virtio_blk", "cdrom",
                     "isofs"]
    for name in order:
        assert all(order.index(dep) < order.index(name) for dep in DEPS[name])


def test_load_order_skips_builtin_and_normalizes_dashes() -> None:
    order = kmod.load_order(["virtio-net"], lambda name: DEPS[name], builtin=["virtio", "failover"])
    assert order == ["virtio_ring", "net_failover", "virtio_net"]


def test_load_order_reports_missing_and_cycles() -> None:
    with pytest.raises(kmod.ModuleError, match=r"cdrom.*needed by isofs"):
        kmod.load_order(["isofs"], lambda name: {"isofs": ["cdrom"]}[name])
    cyclic = {"a": ["b"], "b": ["a"]}
    with pytest.raises(kmod.ModuleError, match="cycle: a -> b -> a"):
        kmod.load_order(["a"], lambda name: cyclic[name])


def test_module_name() -> None:
    assert kmod.module_name("kernel/lib/crc-t10dif.ko") == "crc_t10dif"
    assert kmod.module_name("/x/virtio_net.ko.xz") == "virtio_net"


def test_module_tree_scan_order_and_decompression(tmp_path: Path) -> None:
    root = tmp_path / "lib/modules/6.1.0-9-amd64"
    (root / "kernel/drivers").mkdir(parents=True)
    (root / "kernel/drivers/virtio_blk.ko.xz").write_bytes(
        lzma.compress(make_module("virtio_ring,virtio"), check=lzma.CHECK_CRC32))
    (root / "kernel/drivers/virtio_ring.ko").write_bytes(make_module(""))
    (root / "kernel/drivers/e1000.ko").write_bytes(make_module(""))
    (root / "modules.builtin").write_text("kernel/drivers/virtio/virtio.ko\n")
    tree = kmod.ModuleTree.scan(root)
    assert tree.release == "6.1.0-9-amd64"
    assert tree.order(["virtio_blk", "not_in_this_kernel"], required=["virtio_blk"]) == ["virtio_ring", "virtio_blk"]
    with pytest.raises(kmod.ModuleError, match="not_in_this_kernel"):
        tree.order(["not_in_this_kernel"], required=["not_in_this_kernel"])
    assert tree.relative_path("virtio_blk") == "kernel/drivers/virtio_blk.ko"
    assert kmod.read_module(tree.index["virtio_blk"]).startswith(elf.ELF_MAGIC)


# ---- apt records ----

RECORD = """Package: dropbear-bin
Version: 2022.83-1+deb12u3
Architecture: amd64
Pre-Depends: libc6 (>= 2.34)
Depends: libc6 (>= 2.34), libcrypt1 (>= 1:4.1.0), libtomcrypt1 | libtomcrypt0, zlib1g:any [amd64] (>= 1:1.1.4)
Description: lightweight SSH2 server
 a continuation line
SHA256: 00ff

Package: second-paragraph
"""


def test_parse_records_and_depends() -> None:
    records = debs.parse_records(RECORD)
    assert [fields["Package"] for fields in records] == ["dropbear-bin", "second-paragraph"]
    fields = records[0]
    assert fields["Description"] == "lightweight SSH2 server\na continuation line"
    package = debs.package_from_record(fields)
    assert package.depends == ("libc6", "libcrypt1", "libtomcrypt1", "zlib1g")
    assert package.sha256 == "00ff"
    with pytest.raises(debs.PackageError):
        debs.package_from_record(records[1])


def test_deb_name_escapes_the_epoch() -> None:
    package = Package("busybox-static", "1:1.35.0-4+deb12u1+b1", "amd64", "")
    assert package.deb_name == "busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb"


def test_newest_kernel_follows_the_metapackage() -> None:
    meta = Package("linux-image-amd64", "6.1.192-2", "amd64", "", ("linux-image-6.1.0-56-amd64",))
    assert debs.newest_kernel(meta) == "linux-image-6.1.0-56-amd64"
    signed = Package("linux-image-amd64", "1", "amd64", "", ("linux-image-6.1.0-56-amd64-unsigned",))
    with pytest.raises(debs.PackageError):
        debs.newest_kernel(signed)


def test_closure_follows_depends_level_by_level() -> None:
    known = {
        "linux-image-6.1.0-56-amd64": ("kmod", "linux-base"),
        "dropbear-bin": ("libc6", "libtomcrypt1", "debconf-2.0"),
        "libtomcrypt1": ("libc6", "libgmp10"),
        "libgmp10": ("libc6",),
        "libc6": ("libgcc-s1",),
        "libgcc-s1": ("libc6",),
    }
    calls: list[list[str]] = []

    def lookup(names: list[str]) -> dict[str, Package]:
        calls.append(names)
        return {name: Package(name, "1", "amd64", "", known[name]) for name in names if name in known}

    found = debs.closure(["linux-image-6.1.0-56-amd64", "dropbear-bin"], lookup,
                         leaves=["linux-image-6.1.0-56-amd64"])
    assert sorted(p.name for p in found) == sorted(known)
    assert calls == [["linux-image-6.1.0-56-amd64", "dropbear-bin"], ["libc6", "libtomcrypt1", "debconf-2.0"],
                     ["libgcc-s1", "libgmp10"]]
    with pytest.raises(debs.PackageError, match="past 2"):
        debs.closure(["dropbear-bin"], lookup, limit=2)


def test_closure_skips_what_only_maintainer_scripts_need() -> None:
    known = {"sudo": ("libpam0g", "init-system-helpers"), "init-system-helpers": ("perl-base",),
             "libpam0g": ("libc6", "debconf"), "libc6": ()}
    tried: list[str] = []

    def lookup(names: list[str]) -> dict[str, Package]:
        tried.extend(names)
        return {name: Package(name, "1", "amd64", "", known[name]) for name in names if name in known}

    found = debs.closure(["sudo", "debconf"], lookup, skip=["init-system-helpers", "debconf"])
    assert sorted(p.name for p in found) == ["libc6", "libpam0g", "sudo"]
    assert not {"init-system-helpers", "perl-base", "debconf"} & set(tried)


def test_resolve_inputs_adds_the_tools_and_their_closure(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = "linux-image-6.1.0-57-amd64"
    known = {"linux-image-amd64": (kernel,), kernel: ("kmod",), "busybox": ("libc6",),
             "dropbear-bin": ("libc6",), "curl": ("libcurl4",), "libcurl4": ("libssl3", "libc6"),
             "ca-certificates": ("openssl", "debconf"), "sudo": ("libpam0g", "init-system-helpers"),
             "libpam-modules": ("libpam0g", "debconf"), "iputils-ping": ("libcap2", "libc6"),
             "libpam0g": ("libc6",), "libssl3": ("libc6",), "libcap2": ("libc6",), "libc6": ()}
    looked_up: list[str] = []

    def candidates(names: list[str]) -> dict[str, Package]:
        looked_up.extend(names)
        return {name: Package(name, "1", "amd64", "", known[name]) for name in names if name in known}

    monkeypatch.setattr(debs, "candidates", candidates)
    inputs = build.resolve_inputs()
    assert inputs.kernel.name == kernel and inputs.busybox.name == "busybox"
    assert [p.name for p in inputs.tools] == list(build.TOOL_PACKAGES)
    assert sorted(p.name for p in inputs.libraries) == ["libc6", "libcap2", "libcurl4", "libpam0g", "libssl3"]
    assert not set(build.NOT_IN_GUEST) & set(looked_up)
    assert set(build.TOOL_PACKAGES) <= set(build.package_versions(inputs))


# ---- shared libraries ----

def test_shared_libraries_follow_needed_and_absolute_symlinks(tmp_path: Path) -> None:
    lib = tmp_path / "lib/x86_64-linux-gnu"
    usr_lib = tmp_path / "usr/lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    usr_lib.mkdir(parents=True)
    (tmp_path / "lib64").mkdir()
    (lib / "ld-linux-x86-64.so.2").write_bytes(make_program([], interp=None))
    (tmp_path / "lib64/ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    (lib / "libc.so.6").write_bytes(make_program([], interp=None))
    (usr_lib / "libtomcrypt.so.1.0.1").write_bytes(make_program(["libgmp.so.10", "libc.so.6"], interp=None))
    (usr_lib / "libtomcrypt.so.1").symlink_to("libtomcrypt.so.1.0.1")
    (usr_lib / "libgmp.so.10").write_bytes(make_program(["libc.so.6"], interp=None))
    found = build.shared_libraries(tmp_path, [make_program(["libtomcrypt.so.1", "libc.so.6"])])
    assert sorted(found) == ["ld-linux-x86-64.so.2", "libc.so.6", "libgmp.so.10", "libtomcrypt.so.1"]
    assert build.resolve_inside(tmp_path, Path("lib64/ld-linux-x86-64.so.2")) == lib / "ld-linux-x86-64.so.2"
    with pytest.raises(build.BuildError, match="libmissing"):
        build.shared_libraries(tmp_path, [make_program(["libmissing.so.1"])])


def test_add_programs_installs_setuid_programs_and_plugins_with_their_libraries(tmp_path: Path) -> None:
    lib = tmp_path / "lib/x86_64-linux-gnu"
    (lib / "security").mkdir(parents=True)
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/libexec/sudo").mkdir(parents=True)
    for soname in ("ld-linux-x86-64.so.2", "libc.so.6", "libpam.so.0"):
        (lib / soname).write_bytes(make_program(["libc.so.6"] if soname != "libc.so.6" else [], interp=None))
    (tmp_path / "usr/libexec/sudo/libsudo_util.so.0").write_bytes(make_program(["libc.so.6"], interp=None))
    (tmp_path / "usr/bin/sudo").write_bytes(make_program(["libsudo_util.so.0", "libc.so.6"]))
    (tmp_path / "usr/libexec/sudo/sudoers.so").write_bytes(make_program(["libpam.so.0"], interp=None))
    (lib / "security/pam_permit.so").write_bytes(make_program(["libpam.so.0"], interp=None))
    archive = Archive()
    build.add_programs(archive, tmp_path, {"usr/bin/sudo": "usr/bin/sudo"}, setuid={"usr/bin/sudo"},
                       plugins={"usr/libexec/sudo/sudoers.so": "usr/libexec/sudo/sudoers.so",
                                "lib/x86_64-linux-gnu/security/pam_permit.so": "lib/security/pam_permit.so"})
    entries = archive.entries
    assert entries["usr/bin/sudo"].mode == stat.S_IFREG | 0o4755
    assert entries["usr/libexec/sudo/sudoers.so"].mode == stat.S_IFREG | 0o644
    assert entries["lib/security/pam_permit.so"].mode == stat.S_IFREG | 0o644
    libraries = {path.rsplit("/", 1)[1] for path in entries if path.startswith(build.GUEST_LIBRARY_DIR + "/")}
    assert libraries == {"ld-linux-x86-64.so.2", "libc.so.6", "libpam.so.0", "libsudo_util.so.0"}
    assert entries["lib64/ld-linux-x86-64.so.2"].mode == stat.S_IFLNK | 0o777


def test_ca_bundle_concatenates_every_certificate_in_order(tmp_path: Path) -> None:
    certs = tmp_path / "usr/share/ca-certificates"
    (certs / "mozilla").mkdir(parents=True)
    (certs / "mozilla/B_Root.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----")
    (certs / "mozilla/A_Root.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n")
    (certs / "mozilla/README").write_text("not a certificate")
    bundle = build.ca_bundle(certs)
    assert bundle.count(b"BEGIN CERTIFICATE") == 2
    assert bundle.index(b"\nA\n") < bundle.index(b"\nB\n") and bundle.endswith(b"-----\n")
    assert b"not a certificate" not in bundle
    with pytest.raises(build.BuildError, match="ca-certificates"):
        build.ca_bundle(tmp_path / "empty")


def test_sudo_is_passwordless_for_tiny_only_and_pam_checks_no_password() -> None:
    assert "tiny ALL=(ALL) NOPASSWD: ALL" in build.SUDOERS.splitlines()
    assert [line for line in build.SUDOERS.splitlines() if "NOPASSWD" in line] == ["tiny ALL=(ALL) NOPASSWD: ALL"]
    pam = dict(line.split(" ", 1) for line in build.ETC_FILES["etc/pam.d/sudo"].splitlines())
    assert pam["auth"] == pam["password"] == "required pam_deny.so"
    assert "pam_permit" not in build.ETC_FILES["etc/pam.d/other"]
    assert {Path(dest).name for dest in build.PLUGINS.values()} == {"sudoers.so", "pam_permit.so", "pam_deny.so"}
    assert build.SETUID_PROGRAMS.issubset(build.PROGRAMS.values())


def test_every_user_pings_through_setuid_iputils_over_a_raw_socket() -> None:
    assert build.PROGRAMS["bin/ping"] == "bin/ping" and "iputils-ping" in build.TOOL_PACKAGES
    assert "bin/ping" in build.SETUID_PROGRAMS
    # ICMP datagram sockets stay closed (the kernel's default range): a reply to one once stopped the guest dead.
    assert "ping_group_range" not in build.guest_file("init").decode()


# ---- cpio ----

def parse_newc(data: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    entries = {}
    pos = 0
    while True:
        assert data[pos:pos + 6] == b"070701" and pos % 4 == 0
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rdev, namesize = fields[1], fields[6], (fields[9], fields[10]), fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        if name == TRAILER:
            return entries
        entries[name] = (mode, data[pos:pos + size], rdev)
        pos += size + (-size % 4)


def test_cpio_newc_layout() -> None:
    archive = Archive()
    archive.add_file("/etc/tiny/modules", b"abc\n")
    archive.add_file("init", b"#!/bin/sh\n", 0o755)
    archive.add_symlink("bin/sh", "busybox")
    archive.add_char_device("dev/console", 5, 1)
    archive.add_dir("tmp", 0o1777)
    entries = parse_newc(archive.to_bytes())
    assert list(entries) == sorted(entries)  # parents before children
    assert {"etc", "etc/tiny", "bin", "dev"} <= set(entries)
    assert entries["etc/tiny/modules"][1] == b"abc\n"
    assert entries["init"][0] == stat.S_IFREG | 0o755
    assert entries["bin/sh"] == (stat.S_IFLNK | 0o777, b"busybox", (0, 0))
    assert entries["dev/console"][0] == stat.S_IFCHR | 0o600 and entries["dev/console"][2] == (5, 1)
    assert entries["tmp"][0] == stat.S_IFDIR | 0o1777
    assert archive.to_bytes() == archive.to_bytes()


def test_cpio_keeps_setuid_bits_and_root_ownership() -> None:
    archive = Archive()
    archive.add_file("usr/bin/sudo", b"\x7fELF", 0o4755)
    archive.add_file("etc/sudoers", b"tiny ALL=(ALL) NOPASSWD: ALL\n", 0o440)
    data = archive.to_bytes()
    entries = parse_newc(data)
    assert entries["usr/bin/sudo"][0] == stat.S_IFREG | stat.S_ISUID | 0o755
    assert entries["etc/sudoers"][0] == stat.S_IFREG | 0o440
    at = data.index(b"usr/bin/sudo\0") - 110
    uid, gid = int(data[at + 22:at + 30], 16), int(data[at + 30:at + 38], 16)
    assert (uid, gid) == (0, 0)


def test_cpio_refuses_escaping_paths() -> None:
    with pytest.raises(ValueError):
        Archive().add_file("../etc/passwd", b"")


# ---- disk ----

def test_mbr_has_one_active_lba_partition() -> None:
    record = disk.mbr(b"\xfa" * 440, 2048, 40960)
    assert len(record) == 512 and record[510:] == b"\x55\xaa"
    status, _, kind, _, start, count = struct.unpack_from("<B3sB3sII", record, 446)
    assert (status, kind, start, count) == (0x80, disk.FAT16_LBA, 2048, 40960)
    assert record[462:510] == b"\0" * 48
    with pytest.raises(build.BuildError):
        disk.mbr(b"\0" * 441, 2048, 1)


def test_partition_size() -> None:
    assert disk.partition_size(0) == 16 * disk.MIB
    size = disk.partition_size(12_400_000)
    assert size % disk.MIB == 0 and size >= 12_400_000 * 1.25 + 2 * disk.MIB


# ---- cache ----

def fake_cached_image(out_dir: Path, recipe: str, packages: dict[str, str] | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    image = out_dir / build.IMAGE_NAME
    image.write_bytes(b"\0" * 4096)
    manifest = {"recipe": recipe, "size": 4096, "sha256": debs.sha256_file(image), "packages": packages or {}}
    (out_dir / build.MANIFEST_NAME).write_text(json.dumps(manifest))
    return image


def test_recipe_digest_is_stable_and_covers_guest_files() -> None:
    assert build.recipe_digest() == build.recipe_digest()
    assert build.guest_file("init").startswith(b"#!/bin/busybox sh")


def test_cached_image_checks_recipe_and_hash(tmp_path: Path) -> None:
    image = fake_cached_image(tmp_path, "r1")
    assert build.cached_image(tmp_path, "r1") == image
    assert build.cached_image(tmp_path, "r2") is None
    image.write_bytes(b"\1" * 4096)
    assert build.cached_image(tmp_path, "r1") is None
    (tmp_path / build.MANIFEST_NAME).write_text("not json")
    assert build.cached_image(tmp_path, "r1") is None


def test_second_call_returns_the_cached_image_without_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = fake_cached_image(tmp_path / "tiny", build.recipe_digest())

    def no_apt() -> build.Inputs:
        raise AssertionError("resolved packages although the cache was valid")

    monkeypatch.setattr(build, "resolve_inputs", no_apt)
    assert build.build_tiny_image(tmp_path) == image


def test_refresh_rebuilds_only_when_packages_moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = build.Inputs(Package("linux-image-6.1.0-56-amd64", "6.1.192-2", "amd64", ""),
                          Package("busybox", "1", "amd64", ""), Package("dropbear-bin", "2", "amd64", ""), ())
    image = fake_cached_image(tmp_path / "tiny", build.recipe_digest(), build.package_versions(inputs))
    built: list[build.Inputs] = []
    monkeypatch.setattr(build, "resolve_inputs", lambda: inputs)
    monkeypatch.setattr(build, "_build", lambda cache, out, recipe, got: built.append(got) or image)
    assert build.build_tiny_image(tmp_path, refresh=True) == image and built == []
    moved = dataclasses.replace(inputs, kernel=Package("linux-image-6.1.0-57-amd64", "6.1.193-1", "amd64", ""))
    monkeypatch.setattr(build, "resolve_inputs", lambda: moved)
    build.build_tiny_image(tmp_path, refresh=True)
    assert built == [moved]


def test_prune_debs_keeps_only_current(tmp_path: Path) -> None:
    old, new = tmp_path / "linux-image-old.deb", tmp_path / "linux-image-new.deb"
    old.write_bytes(b"")
    new.write_bytes(b"")
    build.prune_debs(tmp_path, [new])
    assert not old.exists() and new.exists()


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANDROMEDE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.default_cache_dir() == tmp_path / "andromede"
    monkeypatch.setenv("ANDROMEDE_CACHE_DIR", str(tmp_path / "x"))
    assert build.default_cache_dir() == tmp_path / "x"


# ---- guest scripts, with the host's busybox when it has one ----

BUSYBOX = shutil.which("busybox")
needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed on this host")


def flatten(document: str) -> subprocess.CompletedProcess[str]:
    assert BUSYBOX is not None
    return subprocess.run([BUSYBOX, "awk", "-f", str(TINY / "json.awk")], input=document, capture_output=True,
                          text=True, timeout=30, check=False)


@needs_busybox
def test_json_awk_flattens_meta_data() -> None:
    meta = {"uuid": "83679162-1378", "hostname": "tinytest.novalocal", "name": "tiny test",
            "public_keys": {"mykey": "ssh-ed25519 AAAA me@x\n", "two": "ssh-rsa A a\nssh-rsa B b\n"},
            "keys": [{"data": "k"}], "launch_index": 0, "meta": {"q": "a\"b\\c/é\t"}, "devices": [], "n": None}
    done = flatten(json.dumps(meta))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "uuid\t83679162-1378" in lines
    assert "hostname\ttinytest.novalocal" in lines
    assert "public_keys.mykey\tssh-ed25519 AAAA me@x" in lines
    assert [line for line in lines if line.startswith("public_keys.two\t")] == ["public_keys.two\tssh-rsa A a",
                                                                                 "public_keys.two\tssh-rsa B b"]
    assert "keys.0.data\tk" in lines and "launch_index\t0" in lines and "n\tnull" in lines
    assert 'meta.q\ta"b\\c/é ' in lines
    assert flatten(json.dumps(meta, ensure_ascii=False)).stdout == done.stdout


@needs_busybox
@pytest.mark.parametrize("bad", ['{"a": [1, 2', '{"a" 1}', '{"a": tru}', '{"a": "x"} trailing'])
def test_json_awk_rejects_malformed_input(bad: str) -> None:
    assert flatten(bad).returncode != 0


@needs_busybox
@pytest.mark.parametrize("script", ["init", "udhcpc.script", "shutdown", "acpi-power"])
def test_guest_scripts_parse(script: str) -> None:
    assert BUSYBOX is not None
    done = subprocess.run([BUSYBOX, "sh", "-n", str(TINY / script)], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
