"""`andromede status`: what runs on this host for one installation, read without changing anything.

Everything is found from the data dir: the lock files name the API server's and the agent's pids, the QEMU driver's
state dir holds one directory per VM, and the network driver's inventory under /run (named after the data dir)
lists this installation's networks and routers, so another installation on the same host never shows up here.
"""

from __future__ import annotations

import contextlib
import os
from typing import Literal

import httpx
import yaml
from pydantic import BaseModel, computed_field

from andromede.common.lockfile import holder_pid
from andromede.lifecycle import procs
from andromede.lifecycle.layout import Installation

HTTP_TIMEOUT = 5.0


class ServerStatus(BaseModel):
    pid: int | None
    running: bool
    listening: list[str]
    url: str | None  # where clients reach it (clouds.yaml)
    healthy: bool  # it answers its version document
    error: str | None = None


class AgentStatus(BaseModel):
    pid: int | None
    running: bool
    expected: bool  # the server runs and was not started with --agent-driver none
    host: str | None
    last_heartbeat: str | None  # as the API has it (os-services), when the API answers
    state: str | None  # up / down, as the API has it


class VmStatus(BaseModel):
    uuid: str
    pid: int | None
    power: str  # running / shutoff


class NetworkStatus(BaseModel):
    network_id: str
    bridge: str | None
    dhcp_namespace: str | None
    dnsmasq_pid: int | None
    metadata_proxy_pid: int | None
    problems: list[str]  # what should run or exist and does not

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return not self.problems


class RouterStatus(BaseModel):
    router_id: str
    namespace: str | None
    problems: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return not self.problems


class InstallationStatus(BaseModel):
    data_dir: str
    server: ServerStatus
    agent: AgentStatus
    vms: list[VmStatus]
    networks: list[NetworkStatus] | None  # None: this user cannot read the network state (root's)
    routers: list[RouterStatus] | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> Literal["running", "degraded", "stopped"]:
        """stopped: no API server; degraded: something that should run does not (or does not answer)."""
        if not self.server.running:
            return "stopped"
        problems = [not self.server.healthy, self.agent.expected and not self.agent.running,
                    *(not n.healthy for n in self.networks or []), *(not r.healthy for r in self.routers or [])]
        return "degraded" if any(problems) else "running"


def collect(installation: Installation) -> InstallationStatus:
    server = _server(installation)
    return InstallationStatus(data_dir=str(installation.data_dir), server=server, agent=_agent(installation, server),
                              vms=_vms(installation), **_network(installation))


def _clouds(installation: Installation) -> dict:
    try:
        return (yaml.safe_load(installation.clouds_yaml.read_text()) or {}).get("clouds", {})
    except (OSError, yaml.YAMLError):
        return {}


def _admin_cloud(installation: Installation) -> tuple[str, str | bool, dict] | None:
    """(base URL, TLS verification, auth) of the operator's cloud in clouds.yaml."""
    cloud = _clouds(installation).get("andromede-admin") or {}
    auth = cloud.get("auth") or {}
    url = auth.get("auth_url", "")
    if not url.endswith("/identity/v3"):
        return None
    return url.removesuffix("/identity/v3"), cloud.get("cacert") or True, auth


def _server(installation: Installation) -> ServerStatus:
    pid = holder_pid(installation.server_lock)
    running = pid is not None and procs.is_alive(pid)
    cloud = _admin_cloud(installation)
    url = cloud[0] if cloud else None
    healthy, error = False, None
    if running and cloud is not None and url is not None:
        try:
            response = httpx.get(url + "/", verify=cloud[1], timeout=HTTP_TIMEOUT)
            healthy = response.status_code == 200 and "services" in response.json()
            error = None if healthy else f"GET / answered {response.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            error = f"GET / failed: {exc}"
    elif running:
        error = "no clouds.yaml: its URL is unknown"
    return ServerStatus(pid=pid if running else None, running=running,
                        listening=procs.listening_addresses(pid) if running and pid else [], url=url,
                        healthy=healthy, error=error)


def _agent(installation: Installation, server: ServerStatus) -> AgentStatus:
    pid = holder_pid(installation.agent_lock)
    running = pid is not None and procs.is_alive(pid)
    expected = server.running and not _agent_disabled(server.pid)
    host = None
    with contextlib.suppress(OSError, yaml.YAMLError):
        host = (yaml.safe_load(installation.agent_yaml.read_text()) or {}).get("host")
    heartbeat = state = None
    if server.healthy and host:
        heartbeat, state = _heartbeat(installation, host)
    return AgentStatus(pid=pid if running else None, running=running, expected=expected, host=host,
                       last_heartbeat=heartbeat, state=state)


def _agent_disabled(server_pid: int | None) -> bool:
    argv = procs.command_line(server_pid) if server_pid else []
    return any(argv[i : i + 2] == ["--agent-driver", "none"] or argv[i] == "--agent-driver=none"
               for i in range(len(argv)))


def _heartbeat(installation: Installation, host: str) -> tuple[str | None, str | None]:
    """The host's last heartbeat and liveness as the compute API reports them (os-services)."""
    cloud = _admin_cloud(installation)
    if cloud is None or "application_credential_id" not in cloud[2]:
        return None, None
    base, verify, auth = cloud
    credential = {"id": auth["application_credential_id"], "secret": auth["application_credential_secret"]}
    try:
        with httpx.Client(base_url=base, verify=verify, timeout=HTTP_TIMEOUT) as client:
            token = client.post("/identity/v3/auth/tokens?nocatalog", json={"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": credential}}})
            token.raise_for_status()
            services = client.get("/compute/v2.1/os-services",
                                  headers={"X-Auth-Token": token.headers["X-Subject-Token"]})
            services.raise_for_status()
    except (httpx.HTTPError, KeyError):
        return None, None
    for service in services.json().get("services", []):
        if service.get("host") == host:
            return service.get("updated_at"), service.get("state")
    return None, None


def _vms(installation: Installation) -> list[VmStatus]:
    from andromede.compute.agent.drivers.qemu.layout import InstancePaths, is_instance_uuid
    from andromede.compute.agent.drivers.qemu.procfs import is_instance_process, read_pid_file

    try:
        names = sorted(name for name in os.listdir(installation.instances) if is_instance_uuid(name))
    except OSError:
        return []
    found = []
    for uuid in names:
        paths = InstancePaths(installation.instances / uuid)
        pid = read_pid_file(paths.pid_file)
        if pid is not None and is_instance_process(pid, uuid):
            found.append(VmStatus(uuid=uuid, pid=pid, power="running"))
        elif paths.spec.exists():
            found.append(VmStatus(uuid=uuid, pid=None, power="shutoff"))
    return found


def _network(installation: Installation) -> dict:
    state_dir = installation.network_state
    if not state_dir.exists():
        return {"networks": [], "routers": []}
    if os.geteuid() != 0:
        return {"networks": None, "routers": None}
    from andromede.network.agent.drivers.linux import LinuxNetworkDriver
    from andromede.network.agent.entry import make_network_driver

    driver = make_network_driver("qemu", installation.data_dir)
    assert isinstance(driver, LinuxNetworkDriver)
    networks = [NetworkStatus(network_id=n.network_id, bridge=n.bridge, dhcp_namespace=n.dhcp_namespace,
                              dnsmasq_pid=n.dnsmasq_pid, metadata_proxy_pid=n.metadata_proxy_pid, problems=n.problems)
                for n in driver.owned_networks()]
    routers = [RouterStatus(router_id=r.router_id, namespace=r.namespace, problems=r.problems)
               for r in driver.owned_routers()]
    return {"networks": networks, "routers": routers}
