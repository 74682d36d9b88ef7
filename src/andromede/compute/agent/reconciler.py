"""Compute's reconciler: make the hypervisor match the desired state, then say what it sees.

The agent's runner (agentlib.runner) fetches, applies and observes; here is what each of those means for
instances. Level-triggered: every pass compares desired with actual and applies the difference, so a lost
message, a restart of the agent or a VM killed behind its back all converge on the next pass.

A failed pass is either permanent (errors.PermanentError: the image can never boot, the driver refuses the spec)
and the instance goes to ERROR with the message as its fault, not tried again until its desired state changes; or
anything else, tried again per instance with exponential backoff, one log line per attempt. An instance still
failing after FAULT_AFTER attempts shows the fault meanwhile; a later success clears it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import httpx
from pydantic import ValidationError

from andromede.agentlib.backoff import Backoff, RetryBook
from andromede.agentlib.errors import PermanentError, TemporaryError, is_permanent
from andromede.agentlib.reports import LastReported
from andromede.agentlib.runner import Desired
from andromede.common.files import write_atomically
from andromede.compute.agent.drivers.base import ConfigDrive, DriverError, HypervisorDriver, InstanceSpec
from andromede.compute.agent.image_cache import ImageCache
from andromede.compute.agent.uptime import uptime_line
from andromede.compute.agent.volumes import VolumePlugger, VolumesNotReleased
from andromede.contracts import summary
from andromede.contracts.compute import InstanceDesired, InstancesDocument, config_drive_content
from andromede.network.agent.drivers.linux.names import tap_name

log = logging.getLogger("andromede.agent")
CONSOLE_TAIL = 64 * 1024
INSTANCE_BACKOFF = Backoff(first=3.0, factor=2.0, cap=300.0)
FAULT_AFTER = 5  # temporary failures in a row before the owner sees the fault (about 45 s of retrying)
EXPECTED_FAILURES = (TemporaryError, DriverError, httpx.HTTPError, OSError)  # logged without a traceback


def _fingerprint(doc: InstanceDesired | None) -> object:
    """What a failure is remembered against: any change of the instance's desired state gets a new one."""
    return None if doc is None else doc.seq


def config_drive_for(doc: InstanceDesired) -> ConfigDrive:
    content = config_drive_content(doc.drive_facts())
    network_data = doc.network_data if doc.network_data is not None else content.network_data
    return ConfigDrive(meta_data=content.meta_data, user_data=content.user_data, network_data=network_data,
                       vendor_data=content.vendor_data)


def parse_instances(answer: object) -> InstancesDocument:
    """The controller's answer as the contract has it; one that breaks the contract will not parse again until the
    desired state changes, so it is a PermanentError (the runner holds that generation)."""
    try:
        return InstancesDocument.model_validate(answer)
    except ValidationError as exc:
        raise PermanentError(f"the controller's instances document is invalid: {summary(exc)}") from None


class Controller(Protocol):
    """What the reconciler asks of the controller: the agent's ComputeClient over the internal API, or a test's fake."""

    def desired(self, host: str, since: int, wait: float) -> dict: ...

    def report(self, uuid: str, observed: dict) -> None: ...


@runtime_checkable
class PortWaiter(Protocol):
    """The network reconciler of this host, as compute sees it: a VM boots once its ports are wired."""

    def wait_for_ports(self, port_ids: list[str], timeout: float) -> bool: ...


class ComputeReconciler:
    """The runner's compute reconciler (agentlib.runner.Reconciler): instances, one worker per instance at a time."""

    name = "compute"
    expected_failures: tuple[type[BaseException], ...] = (DriverError,)

    def __init__(self, host: str, driver: HypervisorDriver, client: Controller, cache: ImageCache,
                 state_path: Path, *, workers: int = 4, observe_every: float = 3.0, resync_every: float = 60.0,
                 availability_zone: str = "nova", network: PortWaiter | None = None, port_wait: float = 15.0,
                 retries: RetryBook[str] | None = None, volumes: VolumePlugger | None = None) -> None:
        self.host = host
        self.volumes = volumes
        self.network = network
        self.port_wait = port_wait
        self.driver = driver
        self.client = client
        self.cache = cache
        self.state_path = state_path
        self.observe_every = observe_every
        self.resync_every = resync_every
        self.availability_zone = availability_zone
        self.desired: dict[str, InstanceDesired] = {}
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile")
        self._pending: set[str] = set()
        self._again: set[str] = set()
        self._lock = threading.Lock()
        self._console_digest: dict[str, str] = {}
        # uuid -> (power, reboot_seq, rebuild_seq, fault)
        self._reported: LastReported[str, tuple] = LastReported()
        self._handled_reboots, self._handled_rebuilds = self._load_state()
        self.retries: RetryBook[str] = retries or RetryBook(INSTANCE_BACKOFF)

    # ---- local state that must survive agent restarts -----------------------------------------

    def _load_state(self) -> tuple[dict[str, int], dict[str, int]]:
        """(reboots, rebuilds) handled per instance: a rebuild done must never be done again after a restart."""
        try:
            saved = json.loads(self.state_path.read_text())
            return ({k: int(v) for k, v in saved.get("reboots", {}).items()},
                    {k: int(v) for k, v in saved.get("rebuilds", {}).items()})
        except (FileNotFoundError, ValueError, AttributeError):
            return {}, {}

    def _save_state(self) -> None:
        with self._lock:  # workers save concurrently; one writer at a time, each with its own temp file
            state = {"reboots": self._handled_reboots, "rebuilds": self._handled_rebuilds}
            write_atomically(self.state_path, json.dumps(state), durable=False)

    # ---- talking to the controller ------------------------------------------------------------

    def host_report(self) -> dict[str, object]:
        resources = self.driver.resources()
        return {"vcpus": resources.vcpus, "memory_mib": resources.memory_mib, "disk_gib": resources.disk_gib,
                "accelerator": resources.accelerator, "availability_zone": self.availability_zone,
                "uptime": uptime_line()}

    def fetch(self, since: int, wait: float) -> Desired[dict]:
        answer = self.client.desired(self.host, since, wait)
        return Desired(int(answer["generation"]), answer, full=bool(answer.get("full")))

    def apply(self, desired: Desired[dict]) -> None:
        answer, snapshot = parse_instances(desired.document), desired.generation
        changed = []
        with self._lock:
            for doc in answer.instances:
                known = self.desired.get(doc.uuid)
                if known is not None and known.seq > doc.seq:
                    continue  # a full answer taken before a newer change we already hold: keep the newer
                self.desired[doc.uuid] = doc
                changed.append(doc.uuid)
            if desired.full:
                # Forget only what this snapshot could have seen: a long-poll may have brought in newer ones.
                listed = {doc.uuid for doc in answer.instances}
                gone = [uuid for uuid, doc in self.desired.items() if uuid not in listed and doc.seq <= snapshot]
                for uuid in gone:
                    self.desired.pop(uuid, None)
                changed += gone
        if desired.full:
            changed += [uuid for uuid in self.driver.list_instances() if uuid not in self.desired]
        for uuid in set(changed):
            self.submit(uuid)

    def _report(self, uuid: str, observed: dict, *, force: bool = False) -> None:
        rebuilt = self._rebuilt(uuid)
        if rebuilt:  # the server shows REBUILD until a report says the rebuild is done
            observed = {**observed, "rebuild_seq": rebuilt}
        key = (observed.get("power"), observed.get("reboot_seq"), observed.get("rebuild_seq"), observed.get("fault"),
               repr(observed.get("volumes")), repr(observed.get("volume_faults")))
        if not force and "console" not in observed and not self._reported.changed({uuid: key}):
            return
        self.client.report(uuid, observed)
        self._reported.told({uuid: key})

    # ---- reconciling one instance --------------------------------------------------------------

    def submit(self, uuid: str) -> None:
        with self._lock:
            if uuid in self._pending:
                self._again.add(uuid)  # it is being reconciled: go round once more when done
                return
            self._pending.add(uuid)
        self._executor.submit(self._run, uuid)

    def _run(self, uuid: str) -> None:
        while True:
            self.attempt(uuid)
            with self._lock:
                if uuid not in self._again:
                    self._pending.discard(uuid)
                    return
                self._again.discard(uuid)

    def attempt(self, uuid: str) -> None:
        """One reconcile of the instance, unless it is held (permanent failure) or backing off."""
        with self._lock:
            doc = self.desired.get(uuid)
        fingerprint = _fingerprint(doc)
        if not self.retries.may_attempt(uuid, fingerprint):
            return
        try:
            self.reconcile(uuid)
        except Exception as exc:  # every failure is classified, reported and retried or held
            self._failed(uuid, doc, fingerprint, exc)
        else:
            self.retries.succeeded(uuid)

    def _failed(self, uuid: str, doc: InstanceDesired | None, fingerprint: object, exc: Exception) -> None:
        running_doc = None if doc is None or doc.desired_power == "deleted" else doc  # deleting: never given up
        if is_permanent(exc) and running_doc is not None:
            try:
                self._report_fault(uuid, running_doc, str(exc))
            except Exception as report_exc:  # not told yet: try again later
                exc = report_exc
            else:
                self.retries.hold(uuid, fingerprint)
                log.error("instance %s failed permanently: %s; not retried until its desired state changes", uuid,
                          exc)
                return
        failures, delay = self.retries.failed(uuid, fingerprint)
        if isinstance(exc, EXPECTED_FAILURES):
            log.warning("instance %s: attempt %d failed: %s; next attempt in %.0f s", uuid, failures, exc, delay)
        else:
            log.error("reconciling %s failed (attempt %d); next attempt in %.0f s", uuid, failures, delay,
                      exc_info=exc)
        if failures >= FAULT_AFTER and running_doc is not None and not isinstance(exc, VolumesNotReleased):
            try:
                self._report_fault(uuid, running_doc, str(exc) or type(exc).__name__)
            except Exception as report_exc:
                log.warning("instance %s: could not report its fault: %s", uuid, report_exc)

    def _report_fault(self, uuid: str, doc: InstanceDesired, message: str) -> None:
        power = self.driver.state(uuid).power
        self._report(uuid, {"power": power, "reboot_seq": doc.reboot_seq, "fault": message}, force=True)

    def reconcile(self, uuid: str) -> None:
        """Make the instance match its desired state; raises what failed (see attempt)."""
        with self._lock:
            doc = self.desired.get(uuid)
        actual = self.driver.state(uuid)
        if doc is None or doc.desired_power == "deleted":
            if actual.power != "missing":
                self.driver.destroy(uuid)
            if doc is not None:
                self._report(uuid, {"power": "missing"}, force=True)
                with self._lock:
                    self.desired.pop(uuid, None)
                    self._handled_reboots.pop(uuid, None)
                    self._handled_rebuilds.pop(uuid, None)
                self._save_state()
            self._console_digest.pop(uuid, None)
            self._reported.forget(uuid)
            return
        if doc.rebuild_seq > self._rebuilt(uuid):
            self.driver.rebuild(self._spec(doc))  # powered off, the disk made again from the image
            with self._lock:
                self._handled_rebuilds[uuid] = doc.rebuild_seq
            self._save_state()
            actual = self.driver.state(uuid)
        else:
            self.driver.ensure_defined(self._spec(doc))
        handled = self._handled_reboots.get(uuid, 0)
        if doc.desired_power == "running":
            if actual.power != "running":
                self._wait_for_ports(doc)
                self.driver.start(uuid)
            elif doc.reboot_seq > handled:
                self.driver.reboot(uuid, hard=doc.reboot_hard)
            else:
                self._converge_nics(doc)
            power = "running"
        else:
            if actual.power == "running":
                self.driver.stop(uuid)
            power = "shutoff"
        if doc.reboot_seq != self._handled_reboots.get(uuid):
            with self._lock:
                self._handled_reboots[uuid] = doc.reboot_seq
            self._save_state()
        volumes, stuck = self._converge_volumes(doc)
        self._report(uuid, {"power": power, "reboot_seq": doc.reboot_seq, **volumes})
        if stuck:
            raise VolumesNotReleased(f"volumes {', '.join(stuck)} not released by the guest yet")

    def _converge_volumes(self, doc: InstanceDesired) -> tuple[dict[str, object], list[str]]:
        """The volumes part of the report, and the volumes a guest still holds (their detach is retried)."""
        if self.volumes is None:
            if not doc.volumes:
                return {}, []
            return ({"volumes": self.driver.volumes(doc.uuid),
                     "volume_faults": {ref.id: "this host's agent cannot attach volumes" for ref in doc.volumes}},
                    [])
        return self.volumes.converge(self.driver, doc.uuid, doc.volumes)

    def _rebuilt(self, uuid: str) -> int:
        with self._lock:
            return self._handled_rebuilds.get(uuid, 0)

    def _wait_for_ports(self, doc: InstanceDesired) -> None:
        """Boot once the VM's ports are wired, so its first DHCP request finds the network."""
        port_ids = [nic.port_id for nic in doc.nics]
        if self.network is not None and port_ids and not self.network.wait_for_ports(port_ids, self.port_wait):
            log.warning("instance %s: ports %s not wired after %.0f s; booting anyway", doc.uuid, port_ids,
                        self.port_wait)

    def _converge_nics(self, doc: InstanceDesired) -> None:
        """Hot-plug attached interfaces and unplug detached ones; a failure is logged and retried, the VM runs on."""
        uuid = doc.uuid
        wanted = {nic.port_id: nic for nic in doc.nics}
        try:
            have = self.driver.nics(uuid)
            for port_id in [p for p in have if p not in wanted]:
                self.driver.detach_nic(uuid, port_id)
            for port_id, nic in wanted.items():
                if port_id not in have:
                    if self.network is not None and not self.network.wait_for_ports([port_id], self.port_wait):
                        log.warning("instance %s: port %s is not wired yet; plugging later", uuid, port_id)
                        continue
                    self.driver.attach_nic(uuid, {"port_id": port_id, "mac": nic.mac, "tap": tap_name(port_id)})
        except DriverError as exc:
            log.warning("instance %s: interfaces not converged yet: %s", uuid, exc)

    def _spec(self, doc: InstanceDesired) -> InstanceSpec:
        base = self.cache.ensure(doc.image)
        fmt: Literal["qcow2", "raw"] = "qcow2" if doc.image.disk_format == "qcow2" else "raw"
        return InstanceSpec(uuid=doc.uuid, hostname=doc.hostname, vcpus=doc.vcpus, memory_mib=doc.memory_mib,
                            root_gib=doc.root_gib, base_image=base, base_format=fmt,
                            config_drive=config_drive_for(doc) if doc.config_drive else None,
                            nics=tuple({"port_id": nic.port_id, "mac": nic.mac, "tap": tap_name(nic.port_id)}
                                       for nic in doc.nics))

    # ---- watching ------------------------------------------------------------------------------

    def observe(self) -> None:
        """Catch drift (a VM that died or was started behind our back) and forward new console output; start the
        attempts whose backoff is over. Instances held or backing off are left alone meanwhile."""
        for uuid in self.retries.due():
            self.submit(uuid)
        with self._lock:
            desired = dict(self.desired)
        for uuid, doc in desired.items():
            with self._lock:
                busy = uuid in self._pending
            if busy or doc.desired_power == "deleted" or self.retries.waiting(uuid):
                continue
            state = self.driver.state(uuid)
            want = "running" if doc.desired_power == "running" else "shutoff"
            have = "running" if state.power == "running" else "shutoff"
            if want != have:
                log.warning("instance %s is %s but should be %s: repairing", uuid, have, want)
                self._report(uuid, {"power": have, "reboot_seq": self._handled_reboots.get(uuid, 0)})
                self.submit(uuid)
                continue
            self._forward_console(uuid, have)

    def _forward_console(self, uuid: str, power: str) -> None:
        try:
            console = self.driver.console_output(uuid)[-CONSOLE_TAIL:]
        except DriverError:
            return
        digest = hashlib.sha256(console.encode(errors="replace")).hexdigest()
        if self._console_digest.get(uuid) != digest:
            self._report(uuid, {"power": power, "reboot_seq": self._handled_reboots.get(uuid, 0), "console": console})
            self._console_digest[uuid] = digest

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
