"""The pieces of `andromede status` that need no running cloud: /proc's socket addresses, the overall state."""

from __future__ import annotations

import os
import socket

from andromede.lifecycle import procs
from andromede.lifecycle.status import AgentStatus, InstallationStatus, NetworkStatus, ServerStatus


def test_proc_net_addresses_are_decoded() -> None:
    assert procs._address("0100007F:1388", 4) == "127.0.0.1:5000"
    assert procs._address("00000000000000000000000001000000:0050", 16) == "[::1]:80"


def test_our_own_listener_is_found() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert f"127.0.0.1:{port}" in procs.listening_addresses(os.getpid())


def _status(*, server: bool = True, healthy: bool = True, agent: bool = True, net_ok: bool = True,
            ) -> InstallationStatus:
    return InstallationStatus(
        data_dir="/d", vms=[], routers=[],
        server=ServerStatus(pid=1 if server else None, running=server, listening=[], url=None, healthy=healthy),
        agent=AgentStatus(pid=2 if agent else None, running=agent, expected=server, host="h", last_heartbeat=None,
                          state=None),
        networks=[NetworkStatus(network_id="n", bridge="brqn", dhcp_namespace=None, dnsmasq_pid=None,
                                metadata_proxy_pid=None, problems=[] if net_ok else ["dnsmasq is not running"])])


def test_state_says_what_is_wrong() -> None:
    assert _status().state == "running"
    assert _status(server=False, agent=False).state == "stopped"
    assert _status(healthy=False).state == "degraded"
    assert _status(agent=False).state == "degraded"
    assert _status(net_ok=False).state == "degraded"
    assert '"state":"running"' in _status().model_dump_json()
