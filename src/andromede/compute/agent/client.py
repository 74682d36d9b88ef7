"""Compute's routes of the internal API, over the agent's authenticated ControllerClient."""

from __future__ import annotations

from pathlib import Path

from andromede.agentlib.client import ControllerClient
from andromede.agentlib.errors import PermanentError, TemporaryError

# The image service's answers that no retry changes: the image is gone, hidden, deactivated, or has no data.
IMAGE_GONE = (403, 404, 410)


class ComputeClient:
    def __init__(self, controller: ControllerClient) -> None:
        self.controller = controller

    def desired(self, host: str, since: int, wait: float) -> dict:
        return self.controller.request("GET", f"/internal/v1/hosts/{host}/instances",
                                       params={"since": since, "wait": wait}, timeout=wait + 15).json()

    def report(self, uuid: str, observed: dict) -> None:
        # 404: the instance is gone already; nothing to tell
        self.controller.request("PUT", f"/internal/v1/instances/{uuid}/observed", json=observed, accept=(404,))

    def download_image(self, image_id: str, destination: Path) -> None:
        """PermanentError when the image can never be had; TemporaryError (or httpx's) when it may come later."""
        controller = self.controller
        for renew in (False, True):
            headers = {"X-Auth-Token": controller.token(renew=renew)}
            with controller.http.stream("GET", f"/internal/v1/hosts/{controller.host}/images/{image_id}/file",
                                        timeout=600, headers=headers) as response:
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
