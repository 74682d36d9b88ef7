"""The volume service's routes of the internal API, over the agent's authenticated ControllerClient."""

from __future__ import annotations

import base64
from pathlib import Path

from andromede.agentlib.client import ControllerClient
from andromede.agentlib.errors import PermanentError, TemporaryError

GONE = (403, 404, 409, 410)  # answers no retry changes: the volume, its image or its key is gone or unusable


class VolumeClient:
    def __init__(self, controller: ControllerClient) -> None:
        self.controller = controller

    @property
    def _host(self) -> str:
        assert self.controller.host is not None  # set by run_agent before any reconciler is built
        return self.controller.host

    def desired(self, host: str, since: int, wait: float) -> dict:
        return self.controller.request("GET", f"/internal/v1/hosts/{host}/volumes",
                                       params={"since": since, "wait": wait}, timeout=wait + 15).json()

    def report(self, volume_id: str, status: str, reason: str | None = None) -> None:
        body = {"status": status} if reason is None else {"status": status, "reason": reason}
        # 404: the volume is gone already (or moved): nothing to tell
        self.controller.request("PUT", f"/internal/v1/volumes/{volume_id}/observed", json=body, accept=(404,))

    def report_snapshot(self, snapshot_id: str, status: str, reason: str | None = None) -> None:
        body = {"status": status} if reason is None else {"status": status, "reason": reason}
        self.controller.request("PUT", f"/internal/v1/snapshots/{snapshot_id}/observed", json=body, accept=(404,))

    def key(self, volume_id: str) -> bytes:
        """The volume's key, for one operation: the caller drops it right after."""
        response = self.controller.request("GET", f"/internal/v1/hosts/{self._host}/volumes/{volume_id}/key",
                                           accept=GONE)
        if response.status_code in GONE:
            raise PermanentError(f"the key of volume {volume_id} cannot be had ({response.status_code})")
        return base64.b64decode(response.json()["key"])

    def download_image(self, volume_id: str, destination: Path) -> None:
        """The source image of a volume being made; PermanentError when it can never be had."""
        controller = self.controller
        for renew in (False, True):
            headers = {"X-Auth-Token": controller.token(renew=renew)}
            with controller.http.stream("GET", f"/internal/v1/hosts/{self._host}/volumes/{volume_id}/image",
                                        timeout=600, headers=headers) as response:
                if response.status_code == 401 and not renew:
                    continue
                if response.status_code in GONE:
                    raise PermanentError(f"the image of volume {volume_id} can no longer be downloaded")
                if response.status_code != 200:
                    raise TemporaryError(f"downloading the image of volume {volume_id} answered "
                                         f"{response.status_code}")
                with destination.open("wb") as handle:
                    for chunk in response.iter_bytes(1 << 20):
                        handle.write(chunk)
                return
        raise TemporaryError(f"downloading the image of volume {volume_id}: authentication refused")
