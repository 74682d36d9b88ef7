"""The reconciler's answer to failure: permanent ones become a fault and wait for a change, temporary ones are
retried per instance with backoff, each attempt logged once."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid as uuidlib
from pathlib import Path

import httpx
import pytest
import yaml

from andromede.agentlib.backoff import Backoff, RetryBook
from andromede.agentlib.client import ControllerClient
from andromede.agentlib.errors import PermanentError, TemporaryError, is_permanent
from andromede.compute.agent.client import ComputeClient
from andromede.compute.agent.drivers.base import DriverError, InstanceSpec, PermanentDriverError
from andromede.compute.agent.drivers.fake import FAULTS_FILE, FakeDriver
from andromede.compute.agent.image_cache import ImageCache
from andromede.compute.agent.reconciler import FAULT_AFTER, ComputeReconciler
from andromede.contracts.compute import InstanceDesired

IMAGE_BYTES = b"\0" * 4096


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class StubClient:
    def __init__(self) -> None:
        self.reports: list[tuple[str, dict]] = []

    def report(self, uuid: str, observed: dict) -> None:
        self.reports.append((uuid, observed))

    def faults(self, uuid: str) -> list[str]:
        return [observed["fault"] for who, observed in self.reports if who == uuid and "fault" in observed]


def desired(**overrides: object) -> InstanceDesired:
    doc = {"uuid": str(uuidlib.uuid4()), "hostname": "vm", "name": "vm", "project_id": "p", "vcpus": 1,
           "memory_mib": 64, "root_gib": 1, "desired_power": "running", "reboot_seq": 0, "reboot_hard": False,
           "seq": 1, "config_drive": False, "key_name": None, "key_data": None, "user_data": None, "meta": {},
           "availability_zone": "nova", "launch_index": 0, "nics": [],
           "image": {"id": str(uuidlib.uuid4()), "disk_format": "raw", "size": len(IMAGE_BYTES),
                     "os_hash_value": hashlib.sha512(IMAGE_BYTES).hexdigest()}}
    return InstanceDesired.model_validate({**doc, **overrides})


class Agent:
    """A reconciler on the fake driver, its clock in the test's hands, reconciling in the test's thread."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = Clock()
        self.driver = FakeDriver(tmp_path / "fake")
        self.client = StubClient()
        self.downloads: list[str] = []
        self.download_error: Exception | None = None
        self.cache = ImageCache(tmp_path / "cache", self._download)
        self.reconciler = ComputeReconciler("h1", self.driver, self.client, self.cache, tmp_path / "state.json",
                                            retries=RetryBook(Backoff(first=3.0, cap=300.0, jitter=0.0),
                                                              clock=self.clock))

    def _download(self, image_id: str, destination: Path) -> None:
        self.downloads.append(image_id)
        if self.download_error is not None:
            raise self.download_error
        destination.write_bytes(IMAGE_BYTES)

    def want(self, doc: InstanceDesired) -> str:
        self.reconciler.desired[doc.uuid] = doc
        return doc.uuid

    def attempt(self, uuid: str) -> None:
        self.reconciler.attempt(uuid)


@pytest.fixture()
def agent(tmp_path: Path) -> Agent:
    return Agent(tmp_path)


def _lines(caplog: pytest.LogCaptureFixture, uuid: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if uuid in record.getMessage()]


def test_a_permanent_failure_is_one_fault_and_one_log_line_until_the_desired_state_changes(
        agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="andromede.agent")
    uuid = agent.want(desired())
    agent.driver.inject_fault("ensure_defined", "the spec is impossible", uuid=uuid, times=100, permanent=True)
    agent.attempt(uuid)
    assert agent.client.faults(uuid) == ["the spec is impossible"]
    for _ in range(50):  # resyncs, drift checks, hours passing: nothing is tried again
        agent.clock.now += 600
        agent.reconciler.observe()
        agent.attempt(uuid)
    assert agent.client.faults(uuid) == ["the spec is impossible"] and len(agent.client.reports) == 1
    (line,) = _lines(caplog, uuid)
    assert "failed permanently" in line and "the spec is impossible" in line
    agent.driver._faults.clear()
    agent.want(desired(uuid=uuid, seq=2, reboot_seq=1, reboot_hard=True))  # `server reboot --hard`
    agent.attempt(uuid)
    assert agent.driver.state(uuid).power == "running"
    assert agent.client.reports[-1][1] == {"power": "running", "reboot_seq": 1}


def test_a_temporary_failure_backs_off_then_succeeds_once_the_cause_is_gone(
        agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="andromede.agent")
    uuid = agent.want(desired())
    agent.driver.inject_fault("start", "QEMU failed to start: cannot allocate memory", uuid=uuid, times=3)
    attempts_at = []
    for _ in range(40):  # 40 s of a 1 s tick: attempts at 0, 3, 9 and 21 s
        if agent.driver.state(uuid).power != "running" and agent.reconciler.retries.may_attempt(uuid, 1):
            attempts_at.append(agent.clock.now - 1_000.0)
        agent.attempt(uuid)
        agent.clock.now += 1.0
    assert attempts_at == [0.0, 3.0, 9.0, 21.0]
    assert agent.driver.state(uuid).power == "running"
    assert agent.client.faults(uuid) == []  # under FAULT_AFTER failures: the owner saw BUILD, then ACTIVE
    lines = _lines(caplog, uuid)
    assert len(lines) == 3 and all("cannot allocate memory" in line for line in lines)
    assert [line.split("next attempt in ")[1] for line in lines] == ["3 s", "6 s", "12 s"]
    assert not agent.reconciler.retries.waiting(uuid)


def test_a_lasting_temporary_failure_shows_its_fault_and_clears_it_on_success(agent: Agent) -> None:
    uuid = agent.want(desired())
    agent.driver.inject_fault("start", "no free memory", uuid=uuid, times=FAULT_AFTER)
    for _ in range(FAULT_AFTER + 1):
        agent.attempt(uuid)
        agent.clock.now += 301
    assert agent.client.faults(uuid) == ["no free memory"]
    assert agent.client.reports[-1][1] == {"power": "running", "reboot_seq": 0}


def test_observe_restarts_an_instance_whose_backoff_is_over(agent: Agent) -> None:
    uuid = agent.want(desired())
    agent.driver.inject_fault("start", "busy", uuid=uuid)
    submitted: list[str] = []
    agent.reconciler.submit = submitted.append  # type: ignore[method-assign]
    agent.attempt(uuid)
    agent.reconciler.observe()
    assert submitted == []  # backing off: neither retried nor "repaired" as drift
    agent.clock.now += 3
    agent.reconciler.observe()
    assert submitted == [uuid]


def test_deleting_is_never_given_up(agent: Agent) -> None:
    uuid = agent.want(desired())
    agent.attempt(uuid)
    agent.want(desired(uuid=uuid, seq=2, desired_power="deleted"))
    agent.driver.inject_fault("destroy", "disk busy", uuid=uuid, times=2, permanent=True)
    agent.attempt(uuid)
    agent.clock.now += 3
    agent.attempt(uuid)
    agent.clock.now += 6
    agent.attempt(uuid)
    assert agent.driver.state(uuid).power == "missing"
    assert agent.client.reports[-1] == (uuid, {"power": "missing"})
    assert agent.client.faults(uuid) == []


@pytest.mark.parametrize("image_change,error,message", [
    ({"disk_format": "iso"}, None, "has disk format iso, which cannot boot"),
    ({"os_hash_value": "0" * 128}, None, "failed its checksum"),
    ({}, PermanentError("Image x has no data."), "Image x has no data."),
])
def test_an_image_that_can_never_boot_is_a_permanent_fault(agent: Agent, image_change: dict,
                                                           error: Exception | None, message: str) -> None:
    doc = desired()
    uuid = agent.want(doc.model_copy(update={"image": doc.image.model_copy(update=image_change)}))
    agent.download_error = error
    agent.attempt(uuid)
    (fault,) = agent.client.faults(uuid)
    assert message in fault
    agent.clock.now += 3600
    agent.attempt(uuid)
    assert len(agent.client.faults(uuid)) == 1 and len(agent.downloads) <= 1


def test_an_interrupted_download_is_retried(agent: Agent) -> None:
    uuid = agent.want(desired())
    agent.download_error = httpx.RemoteProtocolError("peer closed connection")
    agent.attempt(uuid)
    assert agent.client.faults(uuid) == [] and agent.driver.state(uuid).power == "missing"
    agent.download_error = None
    agent.clock.now += 3
    agent.attempt(uuid)
    assert agent.driver.state(uuid).power == "running" and len(agent.downloads) == 2
    assert not list((agent.cache.directory).glob(".*.part"))


def test_error_classification() -> None:
    assert is_permanent(PermanentError("x")) and is_permanent(PermanentDriverError("x"))
    for exc in (TemporaryError("x"), DriverError("x"), httpx.ConnectError("x"), KeyError("x"), OSError("x")):
        assert not is_permanent(exc)  # unknown failures are retried, never given up for good


def test_the_fake_driver_takes_faults_from_a_file_while_it_lists_them(tmp_path: Path) -> None:
    """How a test fails the fake driver inside an agent process: rules aimed by hostname, lifted by removal."""
    driver = FakeDriver(tmp_path)
    (tmp_path / "base").write_bytes(b"x")
    doomed, fine = (InstanceSpec(uuid=str(uuidlib.uuid4()), hostname=name, vcpus=1, memory_mib=64, root_gib=1,
                                 base_image=tmp_path / "base", base_format="raw") for name in ("doomed", "fine"))
    (tmp_path / FAULTS_FILE).write_text(json.dumps([{"operation": "start", "hostname": "doomed", "message": "no",
                                                     "permanent": True}]))
    driver.ensure_defined(doomed)
    driver.ensure_defined(fine)
    driver.start(fine.uuid)
    for _ in range(2):  # in force for as long as the file lists it
        with pytest.raises(PermanentDriverError, match="no"):
            driver.start(doomed.uuid)
    (tmp_path / FAULTS_FILE).unlink()
    driver.start(doomed.uuid)
    assert driver.state(doomed.uuid).power == "running"


# ---- the controller client's download: what no retry changes -------------------------------------

def _client(tmp_path: Path, file_answer: httpx.Response) -> ComputeClient:
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"auth_url": "https://controller/identity/v3",
                                      "application_credential_id": "id", "application_credential_secret": "s"}))
    client = ControllerClient(config)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/tokens"):
            return httpx.Response(201, headers={"X-Subject-Token": "t"})
        return file_answer

    client.http = httpx.Client(base_url="https://controller", transport=httpx.MockTransport(handler))
    return ComputeClient(client)


@pytest.mark.parametrize("answer,expected", [
    (httpx.Response(204), PermanentError),
    (httpx.Response(404), PermanentError),
    (httpx.Response(403), PermanentError),
    (httpx.Response(503), TemporaryError),
    (httpx.Response(500), TemporaryError),
])
def test_download_answers_are_classified(tmp_path: Path, answer: httpx.Response, expected: type) -> None:
    with pytest.raises(expected):
        _client(tmp_path, answer).download_image("img", tmp_path / "out")


def test_download_writes_the_data(tmp_path: Path) -> None:
    _client(tmp_path, httpx.Response(200, content=b"disk")).download_image("img", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"disk"
