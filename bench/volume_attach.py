"""Volume benchmark, part 2 (issue 16): attach → the disk visible in the guest, beyond the QMP round trip.

One tiny guest (256 MiB, TCG here) is booted by the QEMU hypervisor driver; a script in its user data watches
/sys/block for the volume's serial and prints a line on the serial console the moment the disk appears and the
moment it is gone. Each round hot-plugs one encrypted volume (qcow2 + LUKS, made by the volume file driver) with
`attach_volume` — the fd set, the QMP secret, blockdev-add and device_add, the agent's whole call — then waits for
the guest's line, then unplugs it and waits for the guest to let it go. Printed per round and as medians:
  QMP      the attach call itself (what the host does);
  visible  attach call start → the guest's "seen" line on the console (polled every 20 ms);
  beyond   visible − QMP: what the guest adds (issue 16's target: ≤ 2 s);
and the same for detach (the call returns once QEMU reports DEVICE_DELETED, i.e. the guest released the disk).
Its own baseline, measured in the same run: the console round trip, a marker the guest prints every 0.1 s, seen
by the host's polling — the resolution of "visible".

Not a test: it never asserts speed. Run: .venv/bin/python bench/volume_attach.py [--rounds N]
Needs root, qemu-system-x86_64 and the tiny image (`make run` or `andromede image build` makes it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.contract.compute.harness import make_qemu_harness, sample_config_drive

from andromede.compute.agent.drivers.qemu import QemuDriver
from andromede.compute.agent.drivers.qemu.volumes import SERIAL_LENGTH
from andromede.guest import build_tiny_image, default_cache_dir

POLL_S = 0.02

WATCHER = """#!/bin/sh
(
n=0
while :; do
  found=
  for serial in /sys/block/vd*/serial; do
    [ "$(cat "$serial" 2>/dev/null)" = "{serial}" ] && found=1
  done
  if [ -n "$found" ] && [ "$state" != in ]; then state=in; echo "attach-bench: seen $n"; fi
  if [ -z "$found" ] && [ "$state" = in ]; then state=out; echo "attach-bench: gone $n"; n=$((n + 1)); fi
  sleep 0.05
done
) &
(
i=0
while :; do echo "attach-bench: tick $i"; i=$((i + 1)); sleep 0.1; done
) &
"""


def wait_for(driver: QemuDriver, uuid: str, text: str, timeout: float = 180.0) -> float:
    """Seconds (monotonic) at which `text` was first seen on the console."""
    deadline = time.monotonic() + timeout
    while text not in driver.console_output(uuid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {text!r} on the console after {timeout:.0f} s")
        time.sleep(POLL_S)
    return time.monotonic()


def console_resolution(driver: QemuDriver, uuid: str, samples: int = 20) -> float:
    """Median gap between consecutive tick lines as the host's polling sees them (the guest prints every 0.1 s)."""
    output = driver.console_output(uuid)
    last = max(int(line.rsplit(" ", 1)[1]) for line in output.splitlines() if "attach-bench: tick" in line)
    gaps, previous = [], wait_for(driver, uuid, f"attach-bench: tick {last + 1}")
    for tick in range(last + 2, last + 2 + samples):
        now = wait_for(driver, uuid, f"attach-bench: tick {tick}")
        gaps.append(now - previous)
        previous = now
    return statistics.median(gaps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="attach/detach rounds (default 5)")
    args = ap.parse_args()
    image = build_tiny_image(default_cache_dir())
    harness = make_qemu_harness(image)
    driver = harness.driver
    assert isinstance(driver, QemuDriver)
    driver.unplug_timeout = 60.0  # a guest's pciehp takes seconds to release a slot
    try:
        volume = harness.volume()
        serial = volume.volume_id[:SERIAL_LENGTH]
        spec = harness.spec(base_image=image, base_format="raw", root_gib=0, memory_mib=256)
        drive = replace(sample_config_drive(spec.uuid, f"bench-{spec.uuid[:8]}"),
                        user_data=WATCHER.format(serial=serial).encode())
        spec = replace(spec, config_drive=drive)
        print(f"Andromède attach bench: one tiny guest (256 MiB, {driver.accelerator}), {args.rounds} rounds, "
              f"one encrypted 1 GiB volume (serial {serial})")
        started = time.monotonic()
        driver.ensure_defined(spec)
        driver.start(spec.uuid)
        wait_for(driver, spec.uuid, "andromede-tiny: ready")
        wait_for(driver, spec.uuid, "attach-bench: tick 1")
        print(f"guest ready in {time.monotonic() - started:.1f} s")
        resolution = console_resolution(driver, spec.uuid)
        print(f"baseline: console tick every 0.100 s in the guest, seen every {resolution:.3f} s by the host "
              f"(the resolution of 'visible')\n")
        attach_qmp, attach_seen, detach_call, detach_seen = [], [], [], []
        for n in range(args.rounds):
            t0 = time.monotonic()
            driver.attach_volume(spec.uuid, volume)
            t1 = time.monotonic()
            t2 = wait_for(driver, spec.uuid, f"attach-bench: seen {n}")
            t3 = time.monotonic()
            driver.detach_volume(spec.uuid, volume.volume_id)
            t4 = time.monotonic()
            t5 = wait_for(driver, spec.uuid, f"attach-bench: gone {n}")
            attach_qmp.append(t1 - t0)
            attach_seen.append(t2 - t0)
            detach_call.append(t4 - t3)
            detach_seen.append(t5 - t3)
            print(f"round {n + 1}: attach QMP {t1 - t0:6.3f} s  visible {t2 - t0:6.3f} s  beyond {t2 - t1:6.3f} s"
                  f"  | detach call {t4 - t3:6.3f} s  gone in guest {t5 - t3:6.3f} s")
        med = statistics.median
        print(f"\nmedian attach: QMP {med(attach_qmp):.3f} s, visible in the guest {med(attach_seen):.3f} s, "
              f"beyond the QMP round trip {med(attach_seen) - med(attach_qmp):.3f} s (target <= 2 s; "
              f"{(med(attach_seen) - med(attach_qmp)) / resolution:.1f}x the console resolution)")
        print(f"median detach: call {med(detach_call):.3f} s (returns on DEVICE_DELETED), gone in the guest "
              f"{med(detach_seen):.3f} s")
        driver.destroy(spec.uuid)
    finally:
        harness.close()


if __name__ == "__main__":
    main()
