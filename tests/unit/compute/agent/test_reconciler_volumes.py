"""The compute reconciler plugs the volumes its desired state lists and unplugs the others, against what the
driver says is plugged: a restarted agent (or one killed mid-attach) plugs each volume exactly once; the key of an
encrypted one comes from the key route for the attach only; a failed plug is reported as that volume's fault and
the instance runs on; a guest that holds on to a volume is retried without faulting the instance."""

from __future__ import annotations

import uuid as uuidlib
from pathlib import Path

from andromede.agentlib.backoff import Backoff, RetryBook
from andromede.agentlib.errors import PermanentError
from andromede.compute.agent.drivers.base import DriverError
from andromede.compute.agent.drivers.fake import FakeDriver
from andromede.compute.agent.reconciler import FAULT_AFTER, ComputeReconciler
from andromede.compute.agent.volumes import VolumePlugger, VolumesNotReleased
from andromede.volume.agent.drivers.fake import FakeVolumeDriver
from tests.unit.compute.agent.test_reconciler_failures import Agent, desired

KEY = b"k" * 64


class Keys:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, volume_id: str) -> bytes:
        self.asked.append(volume_id)
        if volume_id.startswith("0"):
            raise PermanentError(f"the key of volume {volume_id} cannot be had (404)")
        return KEY


def volume(storage: FakeVolumeDriver, *, encrypted: bool = True) -> str:
    api_id = "a" + uuidlib.uuid4().hex[1:]  # never "0…": Keys answers those as keys that cannot be had
    storage.create(str(uuidlib.UUID(hex=api_id)), 1, key=KEY if encrypted else None)
    return api_id


class VolumeAgent(Agent):
    def __init__(self, tmp_path: Path, storage: FakeVolumeDriver, keys: Keys) -> None:
        super().__init__(tmp_path)
        self.plugger = VolumePlugger(storage, keys)
        self.driver = FakeDriver(tmp_path / "fake", volume_keys=self.plugger.key_source)
        self.reconciler = ComputeReconciler("h1", self.driver, self.client, self.cache, tmp_path / "state.json",
                                            volumes=self.plugger,
                                            retries=RetryBook(Backoff(first=3.0, cap=300.0, jitter=0.0),
                                                              clock=self.clock))

    def last_report(self, uuid: str) -> dict:
        return [observed for who, observed in self.client.reports if who == uuid][-1]


def test_volumes_are_plugged_once_across_restarts_and_unplugged_when_no_longer_wanted(tmp_path: Path) -> None:
    storage, keys = FakeVolumeDriver(), Keys()
    agent = VolumeAgent(tmp_path, storage, keys)
    encrypted, plain = volume(storage), volume(storage, encrypted=False)
    doc = desired(volumes=[{"id": encrypted, "encrypted": True}, {"id": plain, "encrypted": False}])
    uuid = agent.want(doc)
    agent.reconciler.reconcile(uuid)
    assert sorted(agent.last_report(uuid)["volumes"]) == sorted([encrypted, plain])
    assert "volume_faults" not in agent.last_report(uuid)
    assert keys.asked == [encrypted]  # the plain volume needs no key; the key is asked per attach

    # Killed and started again over the same host state: nothing is plugged twice, no key asked for an attach.
    keys.asked.clear()
    restarted = VolumeAgent(tmp_path, storage, keys)
    restarted.want(doc)
    restarted.reconciler.reconcile(uuid)
    assert sorted(restarted.driver.volumes(uuid)) == sorted(str(uuidlib.UUID(hex=v)) for v in (encrypted, plain))
    assert keys.asked == []
    assert sorted(restarted.last_report(uuid)["volumes"]) == sorted([encrypted, plain])

    restarted.want(desired(uuid=uuid, seq=2, volumes=[{"id": plain, "encrypted": False}]))
    restarted.reconciler.reconcile(uuid)
    assert restarted.last_report(uuid)["volumes"] == [plain]
    assert restarted.driver.volumes(uuid) == [str(uuidlib.UUID(hex=plain))]


def test_a_volume_that_cannot_be_plugged_is_reported_with_why_and_the_instance_runs_on(tmp_path: Path) -> None:
    storage, keys = FakeVolumeDriver(), Keys()
    agent = VolumeAgent(tmp_path, storage, keys)
    missing = uuidlib.uuid4().hex  # not on this host
    keyless = "0" + volume(storage)[1:]  # its key route answers 404
    storage.create(str(uuidlib.UUID(hex=keyless)), 1, key=KEY)
    uuid = agent.want(desired(volumes=[{"id": missing, "encrypted": True}, {"id": keyless, "encrypted": True}]))
    agent.reconciler.reconcile(uuid)
    report = agent.last_report(uuid)
    assert report["power"] == "running" and report["volumes"] == []
    assert set(report["volume_faults"]) == {missing, keyless}
    assert "cannot be had" in report["volume_faults"][keyless]
    assert "fault" not in report


def test_a_guest_holding_a_volume_is_retried_without_faulting_the_instance(tmp_path: Path) -> None:
    storage, keys = FakeVolumeDriver(), Keys()
    agent = VolumeAgent(tmp_path, storage, keys)
    held = volume(storage)
    uuid = agent.want(desired(volumes=[{"id": held, "encrypted": True}]))
    agent.reconciler.reconcile(uuid)
    holds = FAULT_AFTER + 2
    agent.driver.inject_fault("detach_volume", "the guest did not release it", uuid=uuid, times=holds)
    agent.want(desired(uuid=uuid, seq=2, volumes=[]))
    for _ in range(holds):
        agent.reconciler.attempt(uuid)
        assert agent.reconciler.retries.waiting(uuid)  # tried again later
        agent.clock.now += 1_000
    assert agent.last_report(uuid)["volumes"] == [held]
    assert agent.client.faults(uuid) == []  # past FAULT_AFTER attempts, and still no fault on the instance
    agent.reconciler.attempt(uuid)  # the guest lets go
    assert agent.last_report(uuid)["volumes"] == [] and agent.driver.volumes(uuid) == []
    assert issubclass(VolumesNotReleased, DriverError)
