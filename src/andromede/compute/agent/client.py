"""The agent's side of the internal API: authenticate with its host's application credential, re-auth on 401.

agent.yaml (written by `andromede host add NAME` or `andromede up`) names the host the credential acts for; a
relative `cacert` is read next to it.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any

import httpx
import yaml

from andromede.common.errors import Unauthorized
from andromede.compute.agent.errors import PermanentError, TemporaryError

# The image service's answers that no retry changes: the image is gone, hidden, deactivated, or has no data.
IMAGE_GONE = (403, 404, 410)


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

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:  # httpx's own keyword arguments
        response = self.http.request(method, path, headers={"X-Auth-Token": self.token()}, **kwargs)
        if response.status_code == 401:
            response = self.http.request(method, path, headers={"X-Auth-Token": self.token(renew=True)},
                                         **kwargs)
        response.raise_for_status()
        return response

    def heartbeat(self, host: str, resources: dict) -> dict:
        return self.request("POST", f"/internal/v1/hosts/{host}", json=resources).json()

    def desired(self, host: str, since: int, wait: float) -> dict:
        return self.request("GET", f"/internal/v1/hosts/{host}/instances",
                            params={"since": since, "wait": wait}, timeout=wait + 15).json()

    def report(self, uuid: str, observed: dict) -> None:
        response = self.http.put(f"/internal/v1/instances/{uuid}/observed", json=observed,
                                 headers={"X-Auth-Token": self.token()})
        if response.status_code == 401:
            response = self.http.put(f"/internal/v1/instances/{uuid}/observed", json=observed,
                                     headers={"X-Auth-Token": self.token(renew=True)})
        if response.status_code not in (200, 404):  # 404: the instance is gone already; nothing to tell
            response.raise_for_status()

    def network_desired(self, host: str, since: int, wait: float) -> dict:
        return self.request("GET", f"/internal/v1/hosts/{host}/network",
                            params={"since": since, "wait": wait}, timeout=wait + 15).json()

    def network_status(self, host: str, ports: dict[str, str], floating_ips: dict[str, str]) -> None:
        self.request("POST", f"/internal/v1/hosts/{host}/network/status",
                     json={"ports": ports, "floating_ips": floating_ips})

    def download_image(self, image_id: str, destination: Path) -> None:
        """PermanentError when the image can never be had; TemporaryError (or httpx's) when it may come later."""
        for renew in (False, True):
            with self.http.stream("GET", f"/internal/v1/hosts/{self.host}/images/{image_id}/file", timeout=600,
                                  headers={"X-Auth-Token": self.token(renew=renew)}) as response:
                if response.status_code == 401 and not renew:
                    continue
                if response.status_code == 204:
                    raise PermanentError(f"Image {image_id} has no data.")
                if response.status_code in IMAGE_GONE:
                    raise PermanentError(f"Image {image_id} can no longer be downloaded.")
                if response.status_code != 200:
                    raise TemporaryError(f"downloading image {image_id} answered {response.status_code}")
                with destination.open("wb") as handle:
                    for chunk in response.iter_bytes(1 << 20):
                        handle.write(chunk)
                return
