"""Volume benchmark, part 1 (issue 16): what encryption costs through QEMU's block layer, and volume create times.

Throughput: an encrypted volume made by the file driver (qcow2 + LUKS, aes-xts-plain64) against a plain raw file
of the same size on the same file system, in the same run, each written in full first so that both measure
allocated space. Sequential: one qemu-io request over the whole volume (QEMU splits it), write then read.
Random 4 KiB: reads then writes at random aligned offsets, fed to qemu-io on stdin; the cost of starting qemu-io
and opening the image (LUKS key derivation included) cancels out (a run of 2N operations minus one of N), and the
two take turns so that both see the same load.
Printed: each figure for both, and encrypted ÷ raw (issue 16's target: ≥ 0.7).

Create times: a blank 10 GiB encrypted volume, and a 1 GiB encrypted volume from the tiny guest image (the raw
image `andromede image build` leaves in the cache; a random stand-in of the same size if there is none), the
median of N each, through FileDriver as the volume agent will call it.

Not a test: it never asserts speed. Run: .venv/bin/python bench/volumes.py [--size-mib M] [--random-ops N]
[--runs N] [--cache none|writeback] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from andromede.guest.build import default_cache_dir
from andromede.volume.agent.drivers import qemu_img
from andromede.volume.agent.drivers.file import FileDriver

MIB = 1024 * 1024
KEY_OBJECT = "k"  # the id of the key's secret object on qemu-io's command line
_RATE = re.compile(r"\(([\d.]+) (bytes|KiB|MiB|GiB)/sec")
_UNITS = {"bytes": 1 / MIB, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}


def qemu_io(opts: str, key: bytes | None, commands: list[str], cache: str, *, stdin: str | None = None) -> str:
    objects: qemu_img.Argv = ["--object", qemu_img.SecretObject(KEY_OBJECT)] if key else []
    argv: qemu_img.Argv = ["qemu-io", *objects, "-t", cache, "--image-opts", opts]
    for command in commands:
        argv += ["-c", command]
    if stdin is None:
        return qemu_img.run(argv, {KEY_OBJECT: key} if key else {})

    def spawn(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        kwargs.pop("capture_output")
        return subprocess.run(args, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              **kwargs)  # type: ignore[call-overload]

    return qemu_img.run(argv, {KEY_OBJECT: key} if key else {}, spawn=spawn)


def mib_per_second(output: str) -> float:
    match = _RATE.search(output)
    if match is None:
        raise RuntimeError(f"no rate in qemu-io's output: {output!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def sequential(opts: str, key: bytes | None, size: int, cache: str) -> tuple[float, float]:
    write = mib_per_second(qemu_io(opts, key, [f"write 0 {size}"], cache))
    read = mib_per_second(qemu_io(opts, key, [f"read 0 {size}"], cache))
    return write, read


Target = tuple[str, bytes | None]  # --image-opts, key


def random_iops(targets: list[Target], size: int, ops: int, cache: str, seed: int,
                repeats: int = 3) -> list[tuple[float, float]]:
    """4 KiB reads, then writes, at `ops` random aligned offsets, for each target: (read IOPS, write IOPS).
    Each figure is one qemu-io run of 2×ops minus one of ops, so that what starting qemu-io and opening the image
    cost (a LUKS key derivation, which a busy host makes vary by tenths of a second) cancels out; the targets take
    turns (ABAB) so that both see the same load, and the median of `repeats` turns is kept."""
    rng = random.Random(seed)
    offsets = [rng.randrange(size // 4096) * 4096 for _ in range(2 * ops)]

    def timed(opts: str, key: bytes | None, script: str) -> float:
        started = time.perf_counter()
        qemu_io(opts, key, [], cache, stdin=script + "quit\n")
        return time.perf_counter() - started

    results = []
    per_command: dict[str, list[list[float]]] = {}
    for command in ("read", "write"):
        lines = [f"{command} -q {offset} 4k\n" for offset in offsets]
        once, twice = "".join(lines[:ops]), "".join(lines)
        per_command[command] = [[] for _ in targets]
        for _ in range(repeats):
            for index, (opts, key) in enumerate(targets):
                elapsed = timed(opts, key, twice) - timed(opts, key, once)
                per_command[command][index].append(ops / max(elapsed, 1e-6))
    for index in range(len(targets)):
        results.append((statistics.median(per_command["read"][index]),
                        statistics.median(per_command["write"][index])))
    return results


def throughput(workdir: Path, size_mib: int, ops: int, cache: str) -> None:
    size = size_mib * MIB
    driver = FileDriver(workdir / "volumes")
    volume, key = str(uuid.uuid4()), os.urandom(64)
    driver.create(volume, max(1, -(-size_mib // 1024)), key=key)
    encrypted = qemu_img.image_opts(driver.path(volume), secret_id=KEY_OBJECT)
    raw_path = workdir / "baseline.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(raw_path), str(size)], check=True)
    raw = qemu_img.image_opts(raw_path, driver="raw")
    for opts, secret in ((encrypted, key), (raw, None)):
        qemu_io(opts, secret, [f"write -q 0 {size}"], cache)  # allocate everything first

    print(f"throughput through QEMU's block layer, {size_mib} MiB, cache={cache}, qemu-io (same file system)")
    print(f"{'':24}{'encrypted':>14}{'raw':>14}{'ratio':>8}")
    results: list[tuple[str, float, float, str]] = []
    enc_seq, raw_seq = sequential(encrypted, key, size, cache), sequential(raw, None, size, cache)
    results += [("sequential write", enc_seq[0], raw_seq[0], "MiB/s"), ("sequential read", enc_seq[1], raw_seq[1],
                                                                         "MiB/s")]
    enc_rand, raw_rand = random_iops([(encrypted, key), (raw, None)], size, ops, cache, seed=1)
    results += [("random 4 KiB read", enc_rand[0], raw_rand[0], "IOPS"),
                ("random 4 KiB write", enc_rand[1], raw_rand[1], "IOPS")]
    for name, enc, base, unit in results:
        print(f"{name + ' (' + unit + ')':24}{enc:14.1f}{base:14.1f}{enc / base:8.2f}")
    print("target: ratio >= 0.7")
    driver.delete(volume)
    raw_path.unlink()


def create_times(workdir: Path, runs: int) -> None:
    driver = FileDriver(workdir / "volumes")
    image = default_cache_dir() / "tiny" / "tiny.raw"
    if not image.is_file():
        image = workdir / "stand-in.raw"
        image.write_bytes(os.urandom(18 * MIB))
        print(f"(no tiny image in the cache: an 18 MiB random stand-in, {image})")

    def timed(make: Callable[[str], object]) -> float:
        volume = str(uuid.uuid4())
        started = time.perf_counter()
        make(volume)
        elapsed = time.perf_counter() - started
        driver.delete(volume)
        return elapsed

    cases: dict[str, Callable[[str], object]] = {
        "blank 10 GiB, encrypted": lambda volume: driver.create(volume, 10, key=os.urandom(64)),
        "blank 10 GiB, plain": lambda volume: driver.create(volume, 10, key=None),
        f"from image {image.name} ({image.stat().st_size // MIB} MiB), encrypted 1 GiB":
            lambda volume: driver.create_from_image(volume, image, "raw", 1, key=os.urandom(64)),
    }
    print(f"volume create through FileDriver, median of {runs} (min, max), target <= 1 s")
    for name, make in cases.items():
        times = [timed(make) for _ in range(runs)]
        print(f"  {name:52} {statistics.median(times):7.2f} s  ({min(times):.2f}, {max(times):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--random-ops", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", choices=("none", "writeback"), default="none")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (default: a temporary directory)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="andr-bench-volumes-", dir=args.dir))
    try:
        throughput(workdir, args.size_mib, args.random_ops, args.cache)
        print()
        create_times(workdir, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
