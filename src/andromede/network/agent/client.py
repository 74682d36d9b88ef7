"""Network's routes of the internal API, over the agent's authenticated ControllerClient."""

from __future__ import annotations

from andromede.agentlib.client import ControllerClient


class NetworkClient:
    def __init__(self, controller: ControllerClient) -> None:
        self.controller = controller

    def network_desired(self, host: str, since: int, wait: float) -> dict:
        return self.controller.request("GET", f"/internal/v1/hosts/{host}/network",
                                       params={"since": since, "wait": wait}, timeout=wait + 15).json()

    def network_status(self, host: str, ports: dict[str, str], floating_ips: dict[str, str]) -> None:
        self.controller.request("POST", f"/internal/v1/hosts/{host}/network/status",
                                json={"ports": ports, "floating_ips": floating_ips})
