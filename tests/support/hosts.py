"""Host credentials in tests: issued with the real `andromede host` commands, used over raw HTTP as an agent would."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import httpx
import yaml

from tests.support.server import VENV_BIN, Server


def host_command(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`andromede host ...` against the server's database, as an operator runs it on the controller."""
    command = [str(VENV_BIN / "andromede"), "host", *args, "--data-dir", str(server.data_dir)]
    if server.database_url:
        command += ["--database-url", server.database_url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"andromede host {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@dataclass
class HostAgent:
    """What a host's agent holds: its agent.yaml."""

    server: Server
    config: dict

    @property
    def name(self) -> str:
        return self.config["host"]

    def token(self) -> str:
        with self.server.http() as client:
            response = client.post("/identity/v3/auth/tokens?nocatalog", json={"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": {
                    "id": self.config["application_credential_id"],
                    "secret": self.config["application_credential_secret"]}}}})
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    def client(self) -> httpx.Client:
        """An HTTP client holding a token of this host's credential (close it, or use it in a with block)."""
        client = self.server.http()
        client.headers["X-Auth-Token"] = self.token()
        return client


def add_host(server: Server, name: str) -> HostAgent:
    """`andromede host add NAME`: a new host with its own credential (no capacity until its agent reports)."""
    return HostAgent(server, yaml.safe_load(host_command(server, "add", name).stdout))


def local_agent(server: Server) -> HostAgent:
    """The all-in-one's own host agent, with the credential `andromede up` wrote to DIR/agent.yaml."""
    return HostAgent(server, yaml.safe_load((server.data_dir / "agent.yaml").read_text()))
