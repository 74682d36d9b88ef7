"""The fake's own promises (the shared contract is in tests/contract/compute)."""

from __future__ import annotations

import itertools
import threading
import time
import uuid as uuidlib
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.base import ConfigDrive, DriverError, HostResources, InstanceSpec, InstanceState
from andromede.compute.agent.drivers.fake import FakeDriver


def make_spec(**overrides: object) -> InstanceSpec:
    fields: dict = {
        "uuid": str(uuidlib.uuid4()),
        "hostname": "web-1.example.org",
        "vcpus": 1,
        "memory_mib": 64,
        "root_gib": 1,
        "base_image": Path("/nonexistent/tiny.raw"),
        "base_format": "raw",
    }
    return InstanceSpec(**{**fields, **overrides})


def ticking_clock(start: float = 1_000.0):
    ticks = itertools.count()
    return lambda: start + next(ticks)


@pytest.fixture()
def driver() -> FakeDriver:
    return FakeDriver(clock=ticking_clock(), verify_base_image=False)


def running(driver: FakeDriver, **overrides: object) -> InstanceSpec:
    spec = make_spec(**overrides)
    driver.ensure_defined(spec)
    driver.start(spec.uuid)
    return spec


def test_works_in_memory_without_a_state_directory(driver: FakeDriver) -> None:
    spec = running(driver)

    assert driver.state(spec.uuid) == InstanceState(uuid=spec.uuid, power="running", pid=10_000, started_at=1_000.0)


def test_pids_and_start_times_are_deterministic() -> None:
    def run() -> list[InstanceState]:
        driver = FakeDriver(clock=ticking_clock(), verify_base_image=False)
        specs = [make_spec(uuid=f"00000000-0000-4000-8000-00000000000{i}") for i in range(3)]
        for spec in specs:
            driver.ensure_defined(spec)
            driver.start(spec.uuid)
        driver.stop(specs[0].uuid)
        driver.start(specs[0].uuid)
        return [driver.state(spec.uuid) for spec in specs]

    assert run() == run()
    assert [state.pid for state in run()] == [10_003, 10_001, 10_002]


def test_resources_are_configurable() -> None:
    resources = HostResources(vcpus=4, memory_mib=8192, disk_gib=100, accelerator="fake")

    assert FakeDriver(resources=resources).resources() == resources


def test_the_base_image_must_exist_unless_told_otherwise(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="does not exist"):
        FakeDriver().ensure_defined(make_spec())
    image = tmp_path / "tiny.raw"
    image.touch()
    FakeDriver().ensure_defined(make_spec(base_image=image))


def test_console_prints_the_tiny_guests_markers(driver: FakeDriver) -> None:
    drive = ConfigDrive(meta_data={"public_keys": {"a": "ssh-ed25519 A", "b": "ssh-ed25519 B"}}, user_data=b"#!/bin/sh")
    spec = running(driver, config_drive=drive)

    console = driver.console_output(spec.uuid)

    assert "andromede-tiny: metadata source=config-drive" in console
    assert "andromede-tiny: ssh keys=2" in console
    assert "andromede-tiny: user-data exit=0" in console
    assert console.endswith("andromede-tiny: ready hostname=web-1 ip=none uptime=1.00\n")


def test_console_tells_stops_and_reboots(driver: FakeDriver) -> None:
    spec = running(driver)
    driver.reboot(spec.uuid, hard=False)
    driver.reboot(spec.uuid, hard=True)
    driver.stop(spec.uuid)

    console = driver.console_output(spec.uuid)

    assert console.count("andromede-tiny: ready") == 3
    assert "reboot: Restarting system" in console
    assert console.endswith("andromede-tiny: shutting down\nreboot: Power down\n")


def test_console_keeps_a_bounded_history(driver: FakeDriver) -> None:
    spec = running(driver)
    for _ in range(500):
        driver.reboot(spec.uuid, hard=True)

    assert len(driver.console_output(spec.uuid).splitlines()) == 1000


def test_simulated_guest_poweroff_and_crash_shut_the_instance_off(driver: FakeDriver) -> None:
    first, second = running(driver), running(driver)

    driver.simulate_guest_poweroff(first.uuid)
    driver.simulate_crash(second.uuid)

    assert driver.state(first.uuid).power == driver.state(second.uuid).power == "shutoff"
    assert "reboot: Power down" in driver.console_output(first.uuid, length=1)
    assert "reboot: Power down" not in driver.console_output(second.uuid, length=1)


def test_injected_faults_fail_the_next_calls_then_clear(driver: FakeDriver) -> None:
    spec = make_spec()
    driver.ensure_defined(spec)
    driver.inject_fault("start", "no space left on host", uuid=spec.uuid, times=2)

    for _ in range(2):
        with pytest.raises(DriverError, match="no space left"):
            driver.start(spec.uuid)
    driver.start(spec.uuid)

    assert driver.state(spec.uuid).power == "running"


def test_an_injected_fault_for_any_instance(driver: FakeDriver) -> None:
    driver.inject_fault("ensure_defined", "image cache corrupt")

    with pytest.raises(DriverError, match="image cache corrupt"):
        driver.ensure_defined(make_spec())
    driver.ensure_defined(make_spec())


def test_a_changed_spec_replaces_the_stored_one(driver: FakeDriver) -> None:
    spec = running(driver)
    bigger = InstanceSpec(**{**spec.__dict__, "memory_mib": 128})

    driver.ensure_defined(bigger)

    assert driver.state(spec.uuid).power == "running"
    restarted = FakeDriver(verify_base_image=False)
    restarted.ensure_defined(bigger)
    assert restarted.state(spec.uuid).power == "shutoff"


def test_persisted_state_survives_a_new_driver_object(tmp_path: Path) -> None:
    first = FakeDriver(tmp_path, clock=ticking_clock(), verify_base_image=False)
    spec = running(first, config_drive=ConfigDrive(meta_data={"uuid": "x"}, user_data=b"\x00\xff"))
    stopped = running(first)
    first.stop(stopped.uuid)

    second = FakeDriver(tmp_path)

    assert second.list_instances() == first.list_instances()
    assert second.config_drive_of(spec.uuid) == spec.config_drive
    assert second.console_output(spec.uuid) == first.console_output(spec.uuid)
    second.start(stopped.uuid)
    assert second.state(stopped.uuid).pid == 10_002  # never reuses a pid the first object handed out


def test_concurrent_calls_keep_the_books_straight(driver: FakeDriver) -> None:
    specs = [make_spec() for _ in range(50)]
    for spec in specs:
        driver.ensure_defined(spec)

    def churn(spec: InstanceSpec) -> None:
        for _ in range(20):
            driver.start(spec.uuid)
            driver.reboot(spec.uuid, hard=True)
            driver.stop(spec.uuid)
        driver.start(spec.uuid)

    threads = [threading.Thread(target=churn, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    pids = [state.pid for state in driver.list_instances().values()]
    assert len(pids) == 50 and len(set(pids)) == 50  # every start got its own pid


def test_a_thousand_instances_cost_milliseconds() -> None:
    driver = FakeDriver(verify_base_image=False)
    started = time.perf_counter()

    for _ in range(1000):
        spec = make_spec()
        driver.ensure_defined(spec)
        driver.start(spec.uuid)
    listed = driver.list_instances()

    assert len(listed) == 1000
    assert time.perf_counter() - started < 1.0
