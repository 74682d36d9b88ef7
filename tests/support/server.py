"""Start a real `andromede up` on a temp data dir, and drive it with the real clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp
import yaml

from andromede.common.lockfile import holder_pid, stop_holder

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    data_dir: Path
    port: int
    database_url: str = ""
    agent_driver: str = "fake"  # functional tests: real API, fake hypervisor; e2e tests pass "qemu"
    tiny_image: str = "skip"  # e2e tests pass "ensure" (the image is built once into the user's cache)
    # The external network `public` ("" for none): networking e2e tests pass a range no other cloud here uses.
    public_network: str = ""
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    env: dict = field(default_factory=dict)
    # The server accepts each TOTP time step once: the last one this helper handed out.
    last_totp_step: int = field(default=-1, repr=False)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def identity_url(self) -> str:
        return self.base_url + "/identity/v3"

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    @property
    def cacert(self) -> str:
        return str(self.data_dir / "tls" / "ca.pem")

    def command(self) -> list[str]:
        cmd = [str(VENV_BIN / "andromede"), "up", "--data-dir", str(self.data_dir),
               "--listen", f"127.0.0.1:{self.port}"]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return [*cmd, "--agent-driver", self.agent_driver]

    def start(self, timeout: float = 60.0) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        env = {**os.environ, "ANDROMEDE_POLICY_STRICT": "1", "ANDROMEDE_TINY_IMAGE": self.tiny_image,
               "ANDROMEDE_PUBLIC_NETWORK_CIDR": self.public_network, **self.env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if (self.data_dir / "tls" / "ca.pem").exists():
                    response = httpx.get(self.identity_url, verify=self.tls(), timeout=2)
                    if response.status_code == 200 and self._host_is_up():
                        return
            except (httpx.HTTPError, ssl.SSLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer in {timeout}s:\n{self.log_path.read_text()}")

    def _host_is_up(self) -> bool:
        """With a host agent, "started" also means the agent has registered its host (else: no valid host)."""
        if self.agent_driver == "none":
            return True
        with self.http() as client:
            client.headers["X-Auth-Token"] = self.app_credential_token("andromede-admin")
            services = client.get("/compute/v2.1/os-services").json().get("services", [])
        return any(service["state"] == "up" for service in services)

    def app_credential_token(self, cloud: str) -> str:
        auth = self.clouds()[cloud]["auth"]
        with self.http() as client:
            response = client.post("/identity/v3/auth/tokens?nocatalog", json={"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": {
                    "id": auth["application_credential_id"], "secret": auth["application_credential_secret"]}}}})
        return response.headers["X-Subject-Token"]

    def stop(self) -> None:
        self._stop_server()
        self.stop_agent()

    def stop_agent(self, sig: int = signal.SIGTERM) -> None:
        """The host agent runs in its own session (VMs and agent outlive the server); tests clean it up."""
        if sig == signal.SIGKILL:  # simulating a crash: no grace
            pid = holder_pid(self.data_dir / "agent.lock")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            return
        stop_holder(self.data_dir / "agent.lock", timeout=15)

    def _stop_server(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    # ---- credentials written by the first start -----------------------------------------------

    def clouds(self) -> dict:
        return yaml.safe_load(self.clouds_yaml.read_text())["clouds"]

    def admin_credentials(self) -> dict:
        text = (self.data_dir / "admin-credentials").read_text()
        return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith("#"))

    def admin_passcode(self) -> str:
        """A passcode for a time step not used yet (the server takes one step of drift either way, each once)."""
        totp = pyotp.parse_uri(self.admin_credentials()["totp_uri"])
        while True:
            now = time.time()
            current = int(now) // totp.interval
            # The previous step's passcode is still good for the rest of this step: use it while time is left.
            oldest = current - 1 if (current + 1) * totp.interval - now > 5 else current
            step = max(oldest, self.last_totp_step + 1)
            if step <= current + 1:
                self.last_totp_step = step
                return totp.generate_otp(step)
            time.sleep((current + 1) * totp.interval - time.time() + 0.05)

    # ---- clients ------------------------------------------------------------------------------

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cacert)

    def http(self, local_address: str | None = None) -> httpx.Client:
        """A client; `local_address` (say 127.0.0.2) makes it another client address to the server."""
        if local_address is None:
            return httpx.Client(base_url=self.base_url, verify=self.tls(), timeout=30)
        transport = httpx.HTTPTransport(verify=self.tls(), local_address=local_address)
        return httpx.Client(base_url=self.base_url, transport=transport, timeout=30)

    def openstack(self, *args: str, cloud: str = "andromede", check: bool = True,
                  env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), **(env or {})}
        result = subprocess.run([str(VENV_BIN / "openstack"), "--os-cloud", cloud, *args],
                                capture_output=True, text=True, env=full_env, timeout=120, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def openstack_json(self, *args: str, cloud: str = "andromede") -> dict | list:
        return json.loads(self.openstack(*args, "-f", "json", cloud=cloud).stdout)

    def sdk(self, cloud: str = "andromede"):  # type: ignore[no-untyped-def]
        import openstack.config

        config = openstack.config.OpenStackConfig(config_files=[str(self.clouds_yaml)])
        return openstack.connection.Connection(config=config.get_one(cloud))

    def token(self, username: str, password: str, project: str | None = None, *,
              passcode: str | None = None, system: bool = False) -> str:
        methods = ["password"] + (["totp"] if passcode else [])
        identity: dict = {"methods": methods, "password": {
            "user": {"name": username, "domain": {"id": "default"}, "password": password}}}
        if passcode:
            identity["totp"] = {"user": {"name": username, "domain": {"id": "default"}, "passcode": passcode}}
        body: dict = {"auth": {"identity": identity}}
        if project:
            body["auth"]["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        elif system:
            body["auth"]["scope"] = {"system": {"all": True}}
        with self.http() as client:
            response = client.post("/identity/v3/auth/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    def admin_token(self, *, project_scoped: bool = False) -> str:
        """The cloud operator's token (system-scoped); project_scoped: admin of the `admin` project only."""
        creds = self.admin_credentials()
        return self.token("admin", creds["password"], "admin" if project_scoped else None,
                          passcode=self.admin_passcode(), system=not project_scoped)
