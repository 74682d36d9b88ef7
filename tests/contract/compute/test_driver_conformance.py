"""What every hypervisor driver does, checked the same way against the fake and against QEMU.

The QEMU runs boot a blank disk: SeaBIOS prints to the serial console and waits, which exercises the process
life cycle without a guest OS (so ACPI power-down is never answered and stop() always falls back to SIGTERM).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import pytest

from andromede.compute.agent.drivers.base import DriverError, InstanceState
from tests.contract.compute.harness import Harness

T = TypeVar("T")


def eventually(probe: Callable[[], T], *, timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def firmware_banners(harness: Harness, uuid: str) -> int:
    return harness.driver.console_output(uuid).count("SeaBIOS")


# ---- life cycle ----


def test_defined_instance_is_shutoff_until_started(harness: Harness) -> None:
    spec = harness.spec()
    harness.driver.ensure_defined(spec)

    assert harness.driver.state(spec.uuid) == InstanceState(uuid=spec.uuid, power="shutoff")
    assert harness.driver.list_instances()[spec.uuid].power == "shutoff"


def test_start_runs_the_instance_with_a_pid(harness: Harness) -> None:
    before = time.time()
    spec = harness.running()

    state = harness.driver.state(spec.uuid)
    assert state.power == "running"
    assert isinstance(state.pid, int) and state.pid > 0
    assert state.started_at is not None and before - 1 <= state.started_at <= time.time() + 1
    assert harness.process_alive(state.pid, spec.uuid)


def test_start_and_define_are_idempotent(harness: Harness) -> None:
    spec = harness.running()
    first = harness.driver.state(spec.uuid)

    harness.driver.ensure_defined(spec)
    harness.driver.start(spec.uuid)

    assert harness.driver.state(spec.uuid) == first


def test_stop_shuts_off_and_ends_the_process(harness: Harness) -> None:
    spec = harness.running()
    pid = harness.driver.state(spec.uuid).pid
    assert pid is not None

    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)

    assert harness.driver.state(spec.uuid) == InstanceState(uuid=spec.uuid, power="shutoff")
    assert not harness.process_alive(pid, spec.uuid)
    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)  # already off: nothing to do
    assert harness.driver.state(spec.uuid).power == "shutoff"


def test_a_stopped_instance_starts_again(harness: Harness) -> None:
    spec = harness.running()
    first = harness.driver.state(spec.uuid)
    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)

    harness.driver.start(spec.uuid)

    second = harness.driver.state(spec.uuid)
    assert second.power == "running" and second.pid is not None
    assert second.started_at is not None and first.started_at is not None
    assert second.started_at >= first.started_at
    assert harness.process_alive(second.pid, spec.uuid)


@pytest.mark.parametrize("hard", [True, False], ids=["hard", "soft"])
def test_reboot_keeps_the_instance_running_in_the_same_process(harness: Harness, hard: bool) -> None:
    spec = harness.running()
    before = harness.driver.state(spec.uuid)
    assert eventually(lambda: firmware_banners(harness, spec.uuid) >= 1)

    harness.driver.reboot(spec.uuid, hard=hard)

    assert harness.driver.state(spec.uuid) == before
    assert eventually(lambda: firmware_banners(harness, spec.uuid) >= 2), "the machine did not boot again"


def test_reboot_starts_an_instance_that_is_off(harness: Harness) -> None:
    spec = harness.spec()
    harness.driver.ensure_defined(spec)

    harness.driver.reboot(spec.uuid, hard=False)

    assert harness.driver.state(spec.uuid).power == "running"


def test_destroy_removes_every_trace(harness: Harness) -> None:
    spec = harness.running(config_drive=True)
    pid = harness.driver.state(spec.uuid).pid
    assert pid is not None and harness.traces(spec.uuid)

    harness.driver.destroy(spec.uuid)

    assert harness.driver.state(spec.uuid) == InstanceState(uuid=spec.uuid, power="missing")
    assert spec.uuid not in harness.driver.list_instances()
    assert harness.traces(spec.uuid) == []
    assert not harness.process_alive(pid, spec.uuid)
    harness.driver.destroy(spec.uuid)  # already gone: nothing to do


def test_destroy_of_a_stopped_instance(harness: Harness) -> None:
    spec = harness.spec()
    harness.driver.ensure_defined(spec)

    harness.driver.destroy(spec.uuid)

    assert harness.driver.state(spec.uuid).power == "missing"
    assert harness.traces(spec.uuid) == []


# ---- adoption: instances outlive the driver object ----


def test_a_new_driver_adopts_a_running_instance(harness: Harness) -> None:
    spec = harness.running()
    original = harness.driver.state(spec.uuid)

    successor = harness.new_driver()

    assert successor.list_instances()[spec.uuid] == original
    assert successor.state(spec.uuid) == original
    successor.stop(spec.uuid, timeout=harness.stop_timeout)
    assert successor.state(spec.uuid).power == "shutoff"


def test_the_instance_survives_its_driver_object(harness: Harness) -> None:
    spec = harness.running()
    state = harness.driver.state(spec.uuid)
    assert state.pid is not None

    harness.drop_driver()

    assert harness.process_alive(state.pid, spec.uuid)
    assert harness.new_driver().state(spec.uuid) == state


def test_an_instance_killed_behind_the_drivers_back_is_shutoff(harness: Harness) -> None:
    spec = harness.running()

    harness.kill_behind_back(spec.uuid)

    assert harness.driver.state(spec.uuid) == InstanceState(uuid=spec.uuid, power="shutoff")
    harness.driver.start(spec.uuid)
    assert harness.driver.state(spec.uuid).power == "running"


def test_list_instances_shows_defined_and_running_instances(harness: Harness) -> None:
    running, defined = harness.running(), harness.spec()
    harness.driver.ensure_defined(defined)

    listed = harness.driver.list_instances()

    assert {uuid: state.power for uuid, state in listed.items()} == {running.uuid: "running", defined.uuid: "shutoff"}
    assert listed[running.uuid] == harness.driver.state(running.uuid)


# ---- console, config drive, resources ----


def test_console_output_returns_at_most_the_requested_lines(harness: Harness) -> None:
    spec = harness.running()
    full = eventually(lambda: harness.driver.console_output(spec.uuid) if _line_count(harness, spec.uuid) >= 3 else "")
    assert full, "the console never showed three lines"

    last_two = harness.driver.console_output(spec.uuid, length=2)
    later = harness.driver.console_output(spec.uuid)  # a running guest may print between the two reads

    assert 1 <= len(last_two.splitlines()) <= 2
    assert last_two in later
    assert harness.driver.console_output(spec.uuid, length=0) == ""


def test_console_output_of_a_stopped_instance_keeps_what_it_printed(harness: Harness) -> None:
    spec = harness.running()
    assert eventually(lambda: firmware_banners(harness, spec.uuid) >= 1)
    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)

    assert "SeaBIOS" in harness.driver.console_output(spec.uuid)


def test_the_config_drive_is_attached_when_the_spec_has_one(harness: Harness) -> None:
    with_drive, without_drive = harness.spec(config_drive=True), harness.spec()
    for spec in (with_drive, without_drive):
        harness.driver.ensure_defined(spec)
        harness.driver.start(spec.uuid)

    assert harness.config_drive_label(with_drive.uuid) == "config-2"
    assert harness.config_drive_label(without_drive.uuid) is None


def test_resources_are_sensible(harness: Harness) -> None:
    resources = harness.driver.resources()

    assert resources.vcpus >= 1
    assert resources.memory_mib >= 256
    assert resources.disk_gib >= 1
    assert resources.accelerator in harness.accelerators


# ---- what cannot be done ----


def test_an_unknown_instance_is_missing(harness: Harness) -> None:
    uuid = harness.spec().uuid

    assert harness.driver.state(uuid) == InstanceState(uuid=uuid, power="missing")
    harness.driver.stop(uuid, timeout=harness.stop_timeout)
    harness.driver.destroy(uuid)
    for operation in (harness.driver.start, harness.driver.console_output):
        with pytest.raises(DriverError):
            operation(uuid)
    with pytest.raises(DriverError):
        harness.driver.reboot(uuid, hard=True)


def test_a_missing_base_image_is_refused_without_leaving_anything(harness: Harness, tmp_path) -> None:
    spec = harness.spec(base_image=tmp_path / "no-such-image.qcow2")

    with pytest.raises(DriverError, match="does not exist"):
        harness.driver.ensure_defined(spec)

    assert harness.driver.state(spec.uuid).power == "missing"
    assert harness.traces(spec.uuid) == []


@pytest.mark.parametrize("uuid", ["../escape", "NOT-A-UUID", "7F1C0000-0000-0000-0000-000000000000"])
def test_only_canonical_uuids_are_defined(harness: Harness, uuid: str) -> None:
    with pytest.raises(DriverError, match="uuid"):
        harness.driver.ensure_defined(harness.spec(uuid=uuid))


def _line_count(harness: Harness, uuid: str) -> int:
    return len(harness.driver.console_output(uuid).splitlines())


# ---- rebuild ----


def test_rebuild_makes_the_root_disk_again_from_the_new_image_and_leaves_it_off(harness: Harness) -> None:
    spec = harness.running()
    harness.driver.stop(spec.uuid, timeout=harness.stop_timeout)
    harness.scribble(spec.uuid)
    assert harness.scribbled(spec.uuid)
    harness.driver.start(spec.uuid)
    pid = harness.driver.state(spec.uuid).pid
    assert pid is not None
    new_base = harness.state_dir.parent / f"{harness.state_dir.name}-new-base"
    shutil.copyfile(harness.base_image, new_base)
    try:
        rebuilt = replace(spec, base_image=new_base)

        harness.driver.rebuild(rebuilt)

        assert harness.driver.state(spec.uuid) == InstanceState(uuid=spec.uuid, power="shutoff")
        assert not harness.process_alive(pid, spec.uuid)
        assert not harness.scribbled(spec.uuid)  # what the guest wrote went with the old disk
        assert harness.root_disk_base(spec.uuid) == new_base
        harness.driver.start(spec.uuid)
        assert harness.driver.state(spec.uuid).power == "running"
        assert spec.uuid in harness.driver.list_instances()
    finally:
        harness.driver.destroy(spec.uuid)
        new_base.unlink(missing_ok=True)


def test_rebuilding_an_instance_that_is_not_here_is_an_error(harness: Harness) -> None:
    with pytest.raises(DriverError):
        harness.driver.rebuild(harness.spec())
