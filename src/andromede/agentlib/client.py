"""The agent's side of the internal API: authenticate with its host's application credential, re-auth on 401.

agent.yaml (written by `andromede host add NAME` or `andromede up`) names the host the credential acts for; a
relative `cacert` is read next to it. Each service's agent wraps this client with its own routes; the heartbeat
belongs to the host, so it is here.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx
import yaml

from andromede.common.errors import Unauthorized


class WrongHost(ValueError):
    """--host names another host than the one the agent's credential is bound to."""


def agent_host(configured: str | None, requested: str | None) -> str:
    """The host this agent acts for: the one its credential is bound to; --host may only repeat it."""
    if configured and requested and configured != requested:
        raise WrongHost(f"agent.yaml holds the credential of host {configured}, not {requested}.")
    return configured or requested or socket.gethostname()


class ControllerClient:
    def __init__(self, config_path: Path, *, timeout: float = 40.0) -> None:
        config = yaml.safe_load(config_path.read_text())
        self.auth_url: str = config["auth_url"].rstrip("/")
        self.base_url = self.auth_url.rsplit("/identity", 1)[0]
        self._credential = (config["application_credential_id"], config["application_credential_secret"])
        # The host this credential is bound to (None in files older than host credentials).
        self.host: str | None = config.get("host")
        verify: ssl.SSLContext | bool = True
        if config.get("cacert"):
            verify = ssl.create_default_context(cafile=str(config_path.parent / config["cacert"]))
        self.http = httpx.Client(base_url=self.base_url, verify=verify, timeout=timeout)
        self._token: str | None = None
        self._lock = threading.Lock()

    def _authenticate(self) -> str:
        cred_id, secret = self._credential
        response = self.http.post("/identity/v3/auth/tokens?nocatalog", json={"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred_id, "secret": secret}}}})
        if response.status_code != 201:
            raise Unauthorized(f"agent authentication failed: {response.status_code}")
        return response.headers["X-Subject-Token"]

    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            if self._token is None or renew:
                self._token = self._authenticate()
            return self._token

    def request(self, method: str, path: str, *, accept: Collection[int] = (),
                **kwargs: Any) -> httpx.Response:  # httpx's own keyword arguments
        """The answer, once more with a fresh token after a 401; raises for an error status not in `accept`."""
        response = self.http.request(method, path, headers={"X-Auth-Token": self.token()}, **kwargs)
        if response.status_code == 401:
            response = self.http.request(method, path, headers={"X-Auth-Token": self.token(renew=True)},
                                         **kwargs)
        if response.status_code not in accept:
            response.raise_for_status()
        return response

    def heartbeat(self, host: str, report: dict) -> dict:
        return self.request("POST", f"/internal/v1/hosts/{host}", json=report).json()
