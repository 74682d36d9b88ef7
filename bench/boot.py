"""Boot benchmark: real QEMU guests through the API against the same QEMU command line launched by hand (ABAB).

Not a test: it never asserts speed. Run: .venv/bin/python bench/boot.py [--runs N]
A = POST /servers -> (i) QEMU process exists, (ii) ready marker in console.log, (iii) marker via os-getConsoleOutput.
B = the argv the driver used for A, paths rewritten to a private copy of the instance dir, launched directly.
At most 2 VMs at once (one A and one B never overlap: each is stopped before the next starts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from support import HOST, free_port, launched, stop_group

MARKER = b"andromede-tiny: ready"
POLL = 0.005  # seconds between /proc and console-file polls
API_POLL = 0.1  # seconds between os-getConsoleOutput calls
SCOPE = {"project": {"name": "demo", "domain": {"name": "Default"}}}


@dataclass
class ApiRun:
    started_ms: float  # (i) POST -> qemu-system process with the server uuid in its cmdline
    file_ms: float  # (ii) POST -> marker in DATA_DIR/instances/<uuid>/console.log
    api_ms: float  # (iii) POST -> marker in os-getConsoleOutput
    active_ms: float  # POST -> status ACTIVE (context)
    post_ms: float  # the POST request itself (context)
    gone_ms: float  # DELETE -> 404 and process gone (context)
    uptime: str  # the guest's /proc/uptime when it printed the marker
    argv: list[str] = field(default_factory=list)
    saved: Path | None = None  # private copy of the instance dir, taken as soon as QEMU appeared


def cmdline(pid: str | int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
    except OSError:
        return []


def is_qemu(argv: list[bytes]) -> bool:
    return bool(argv) and os.path.basename(argv[0]).startswith(b"qemu-system")


def qemu_pids(needle: str) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and is_qemu(a := cmdline(p))
            and needle.encode() in b"\0".join(a)]


def pid_alive(pid: int, needle: str) -> bool:
    return needle.encode() in b"\0".join(cmdline(pid))


def wait_marker(path: Path, t0: float, deadline: float) -> tuple[float, str]:
    """ms from t0 until the ready marker is in `path`, and the guest's own uptime it printed."""
    while time.monotonic() < deadline:
        with suppress(FileNotFoundError):
            if MARKER in (text := path.read_bytes()):
                line = text[text.index(MARKER):].split(b"\n", 1)[0].decode(errors="replace")
                return (time.perf_counter() - t0) * 1000, line.rpartition("uptime=")[2].strip()
        time.sleep(POLL)
    raise RuntimeError(f"no ready marker in {path} before the deadline")


def wait_for_host(base: str, data: Path, timeout: float = 60) -> None:
    """/identity/v3 answers before the agent's first heartbeat: a POST then gets 'No valid host' (ERROR)."""
    auth = yaml.safe_load((data / "clouds.yaml").read_text())["clouds"]["andromede-admin"]["auth"]
    cred = {"id": auth["application_credential_id"], "secret": auth["application_credential_secret"]}
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": cred}}}
    token = httpx.post(f"{base}/identity/v3/auth/tokens", json=body, timeout=30).headers["X-Subject-Token"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/compute/v2.1/os-services", headers={"X-Auth-Token": token}, timeout=30)
        if any(s["state"] == "up" for s in r.json()["services"]):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the host agent did not register within {timeout:.0f} s")


def api_watch(client: httpx.Client, sid: str, t0: float, deadline: float, out: dict[str, float]) -> None:
    """Poll GET /servers/{id} until ACTIVE and os-getConsoleOutput until the marker shows."""
    while time.monotonic() < deadline and ("api" not in out or "active" not in out):
        with suppress(httpx.HTTPError):
            if "active" not in out:
                status = client.get(f"/compute/v2.1/servers/{sid}").json()["server"]["status"]
                if status == "ACTIVE":
                    out["active"] = (time.perf_counter() - t0) * 1000
                elif status == "ERROR":
                    out["error"] = 1.0
                    return
            if "api" not in out:
                r = client.post(f"/compute/v2.1/servers/{sid}/action", json={"os-getConsoleOutput": {}})
                if r.status_code == 200 and MARKER.decode() in r.json().get("output", ""):
                    out["api"] = (time.perf_counter() - t0) * 1000
        time.sleep(API_POLL)


def delete_server(client: httpx.Client, sid: str, timeout: float = 60) -> float:
    t0 = time.perf_counter()
    client.delete(f"/compute/v2.1/servers/{sid}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/compute/v2.1/servers/{sid}").status_code == 404 and not qemu_pids(sid):
            return (time.perf_counter() - t0) * 1000
        time.sleep(0.05)
    raise RuntimeError(f"server {sid} still present {timeout:.0f} s after DELETE")


def run_api(client: httpx.Client, image: str, data: Path, save_to: Path, timeout: float) -> ApiRun:
    before = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    t0 = time.perf_counter()
    r = client.post("/compute/v2.1/servers", json={"server": {"name": "boot-bench", "imageRef": image,
                                                              "flavorRef": "1"}})
    post_ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 202:
        raise RuntimeError(f"POST /servers: {r.status_code} {r.text[:300]}")
    sid = r.json()["server"]["id"]
    deadline = time.monotonic() + timeout
    pid, check_at = 0, time.monotonic() + 2
    while not pid and time.monotonic() < deadline:  # only new pids can be the guest's QEMU
        pid = next((int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in before
                    and is_qemu(a := cmdline(p)) and sid.encode() in b"\0".join(a)), 0)
        if not pid and time.monotonic() > check_at:  # slow: has the server failed?
            server = client.get(f"/compute/v2.1/servers/{sid}").json()["server"]
            if server["status"] == "ERROR":
                raise RuntimeError(f"server {sid} went to ERROR: {server.get('fault')}")
            check_at = time.monotonic() + 1
        time.sleep(0 if pid else POLL)
    started_ms = (time.perf_counter() - t0) * 1000
    if not pid:
        raise RuntimeError(f"no QEMU process for {sid} within {timeout:.0f} s")
    argv = [a.decode() for a in cmdline(pid)]
    seen: dict[str, float] = {}  # API pollers start only now, so they do not load the server during (i)
    watcher = threading.Thread(target=api_watch, args=(client, sid, t0, deadline, seen), daemon=True)
    watcher.start()
    instance = data / "instances" / sid
    save_to.mkdir()
    for name in ("disk.qcow2", "config.iso"):  # the guest has not touched its disk yet: a pristine overlay
        if (instance / name).exists():
            shutil.copy2(instance / name, save_to / name)
    file_ms, uptime = wait_marker(instance / "console.log", t0, deadline)
    watcher.join(timeout=max(0.0, deadline - time.monotonic()))
    gone_ms = delete_server(client, sid)
    return ApiRun(started_ms, file_ms, seen.get("api", float("nan")), seen.get("active", float("nan")),
                  post_ms, gone_ms, uptime, argv, save_to)


def bare_argv(run: ApiRun, data: Path, private: Path) -> list[str]:
    """The driver's argv with every path into the instance dir pointed at `private` (a copy of it)."""
    instance = str(data / "instances" / run.argv[run.argv.index("-uuid") + 1])
    argv = [a.replace(instance, str(private)) for a in run.argv]
    qmp = argv.index("-qmp") + 1
    if str(private) not in argv[qmp]:  # the driver put a long socket path under /run: keep ours private
        argv[qmp] = f"unix:{private / 'qmp.sock'},server=on,wait=off"
    return argv


def run_bare(argv: list[str], private: Path, timeout: float) -> tuple[float, str]:
    log = (private / "qemu.log").open("wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        return wait_marker(private / "console.log", t0, time.monotonic() + timeout)
    finally:
        log.close()
        stop_group(proc)


def stats(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:8.0f} ms (1 run)" if values else "no data"
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    return f"median {statistics.median(values):8.0f} ms  p90 {p90:8.0f} ms  (n={len(values)}, min {min(values):.0f})"


def foreign_qemu(mine: str) -> int:
    return len([p for p in qemu_pids("") if mine.encode() not in b"\0".join(cmdline(p))])


def teardown(client: httpx.Client | None, data: Path, tmp: Path) -> None:
    """Delete our servers via the API, SIGTERM the agent (own session), then SIGKILL any QEMU naming `tmp`."""
    if client is not None:
        with suppress(httpx.HTTPError, RuntimeError, KeyError):
            for server in client.get("/compute/v2.1/servers").json()["servers"]:
                delete_server(client, server["id"])
    with suppress(OSError, ValueError):
        pid = int((data / "agent.lock").read_text().strip())
        if pid_alive(pid, str(data)):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and pid_alive(pid, str(data)):
                time.sleep(0.1)
            if pid_alive(pid, str(data)):
                os.kill(pid, signal.SIGKILL)
    for pid in qemu_pids(str(tmp)):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5, help="A/B pairs after one warm-up A (default 5, at least 5)")
    ap.add_argument("--timeout", type=float, default=180, help="seconds allowed per boot (default 180)")
    args = ap.parse_args()
    runs = max(5, min(args.runs, 50))
    tmp = Path(tempfile.mkdtemp(prefix="andromede-boot-"))
    data, client = tmp / "data", None
    try:
        port = free_port()
        base = f"http://{HOST}:{port}"
        argv = [str(Path(sys.executable).parent / "andromede"), "up", "--data-dir", str(data),
                "--listen", f"{HOST}:{port}", "--insecure-http", "--agent-driver", "qemu"]
        os.environ.pop("ANDROMEDE_TINY_IMAGE", None)  # "ensure": the tiny guest image is built/registered
        # No `public`/`private`: the servers boot without a NIC, so B (the same argv by hand) needs no tap.
        os.environ["ANDROMEDE_PUBLIC_NETWORK_CIDR"] = ""
        with launched(argv, f"{base}/identity/v3", tmp / "andromede.log", timeout=600):
            try:
                wait_for_host(base, data)
                password = yaml.safe_load((data / "clouds.yaml").read_text())["clouds"]["andromede"]["auth"]["password"]
                user = {"name": "demo", "domain": {"name": "Default"}, "password": password}
                body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": SCOPE}}
                r = httpx.post(f"{base}/identity/v3/auth/tokens", json=body, timeout=30)
                client = httpx.Client(base_url=base, headers={"X-Auth-Token": r.headers["X-Subject-Token"]},
                                      timeout=30)
                image = next(i["id"] for i in client.get("/image/v2/images").json()["images"] if i["name"] == "tiny")
                bench(client, image, data, tmp, runs, args.timeout)
            finally:
                teardown(client, data, tmp)
    finally:
        teardown(None, data, tmp)
        if client is not None:
            client.close()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(client: httpx.Client, image: str, data: Path, tmp: Path, runs: int, timeout: float) -> None:
    print(f"Andromède boot bench — {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"qemu-system processes not ours running: {foreign_qemu(str(tmp))}\n")
    warm = run_api(client, image, data, tmp / "warm", timeout)
    accel = warm.argv[warm.argv.index("-accel") + 1]
    kvm = "present" if os.path.exists("/dev/kvm") else "absent"
    print(f"accelerator: {accel} (/dev/kvm {kvm}; ANDROMEDE_ALLOW_KVM={os.environ.get('ANDROMEDE_ALLOW_KVM', '')!r})")
    print(f"-runas kept: {'-runas' in warm.argv} (B launches the exact argv, paths rewritten)")
    print(f"warm-up A (cold image cache, not counted): QEMU started {warm.started_ms:.0f} ms, "
          f"marker in file {warm.file_ms:.0f} ms, via API {warm.api_ms:.0f} ms\n")
    a_runs: list[ApiRun] = []
    b_ms: list[float] = []
    for i in range(runs):
        a = run_api(client, image, data, tmp / f"a{i}", timeout)
        a_runs.append(a)
        b, b_uptime = run_bare(bare_argv(a, data, a.saved), a.saved, timeout)  # type: ignore[arg-type]
        b_ms.append(b)
        print(f"run {i + 1}: A started {a.started_ms:4.0f} ms  file {a.file_ms:5.0f} ms  api {a.api_ms:5.0f} ms  "
              f"ACTIVE {a.active_ms:4.0f} ms  guest uptime {a.uptime} s | B bare {b:5.0f} ms  "
              f"guest uptime {b_uptime} s", flush=True)
    print()
    rows = [("(i)   POST -> QEMU process started", [a.started_ms for a in a_runs]),
            ("(ii)  POST -> ready marker, console.log file", [a.file_ms for a in a_runs]),
            ("(iii) POST -> ready marker, os-getConsoleOutput", [a.api_ms for a in a_runs]),
            ("      POST -> status ACTIVE (context)", [a.active_ms for a in a_runs]),
            ("      POST request alone (context)", [a.post_ms for a in a_runs]),
            ("      DELETE -> 404 and QEMU gone (context)", [a.gone_ms for a in a_runs]),
            ("B     bare QEMU launch -> ready marker, console file", b_ms)]
    for name, values in rows:
        print(f"{name:52s} {stats(values)}")
    r1 = statistics.median(a.file_ms for a in a_runs) / statistics.median(b_ms)
    r_api = statistics.median(a.api_ms for a in a_runs) / statistics.median(b_ms)
    started = statistics.median(a.started_ms for a in a_runs)
    print(f"\nR1 = median(A ii) / median(B) = {r1:.3f} (target <= 1.10: {'meets' if r1 <= 1.10 else 'ABOVE'})")
    print(f"     via the API console instead (iii): {r_api:.3f} (includes the agent's ~3 s console forwarding)")
    print(f"POST -> QEMU started median {started:.0f} ms (target <= 150 ms: {'meets' if started <= 150 else 'ABOVE'})")
    print(f"\nend: load average {os.getloadavg()[0]:.2f}, qemu-system processes not ours: {foreign_qemu(str(tmp))}")


if __name__ == "__main__":
    main()
