"""The cgroup sweep retries only the groups this driver failed to remove: the parent group may hold another
installation's VMs (two agents started from one cgroup)."""

from __future__ import annotations

from pathlib import Path

from andromede.compute.agent.drivers.qemu.cgroups import GROUP, Hierarchy, VmCgroups

OURS = "11111111-1111-4111-8111-111111111111"
THEIRS = "22222222-2222-4222-8222-222222222222"


def test_sweep_leaves_groups_it_did_not_make(tmp_path: Path) -> None:
    cgroups = VmCgroups([Hierarchy(tmp_path, "/", ("memory",), unified=False)])
    ours, theirs = tmp_path / GROUP / OURS, tmp_path / GROUP / THEIRS
    ours.mkdir(parents=True)
    theirs.mkdir()
    busy = ours / "still-reaping"  # a plain directory with an entry stands for a cgroup that still holds a process
    busy.mkdir()

    cgroups.remove(OURS, wait=0.1)
    assert ours.exists()
    busy.rmdir()
    cgroups.sweep(keep=set())

    assert not ours.exists()
    assert theirs.exists()
