"""Control-plane benchmark (fake hypervisor driver): mass server creation and listing with many servers.

Not a test: it never asserts speed. Run: .venv/bin/python bench/control_plane.py [--count 1000]
Servers are spread over ceil(count / 10) projects (quota: 10 instances per project), one member user in all.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import yaml

from support import HOST, agent_pid, free_port, launched, proc_cpu, self_cpu, stop_agent

V3 = "/identity/v3"
NOVA = "/compute/v2.1"
NEUTRON = "/network/v2.0"
_local = threading.local()
_clients: list[httpx.Client] = []


def http(base: str) -> httpx.Client:
    """One keep-alive client per thread."""
    if getattr(_local, "client", None) is None:
        _local.client = httpx.Client(base_url=base, timeout=60)
        _clients.append(_local.client)
    return _local.client


def call(base: str, method: str, path: str, token: str | None = None, expect: int = 200,
         **kw: object) -> httpx.Response:
    headers = {**kw.pop("headers", {}), **({"X-Auth-Token": token} if token else {})}  # type: ignore[dict-item]
    r = http(base).request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
    if r.status_code != expect:
        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
    return r


def auth(base: str, identity: dict, scope: dict | None = None) -> str:
    body: dict = {"auth": {"identity": identity}}
    if scope:
        body["auth"]["scope"] = scope
    return call(base, "POST", f"{V3}/auth/tokens?nocatalog", expect=201, json=body).headers["X-Subject-Token"]


def admin_token(base: str, data: Path) -> str:
    cred = yaml.safe_load((data / "clouds.yaml").read_text())["clouds"]["andromede-admin"]["auth"]
    ident = {"id": cred["application_credential_id"], "secret": cred["application_credential_secret"]}
    return auth(base, {"methods": ["application_credential"], "application_credential": ident})


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def upload_image(base: str, admin: str, tmp: Path) -> str:
    path = tmp / "bench.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True, timeout=60)
    doc = {"name": "bench", "disk_format": "qcow2", "container_format": "bare", "visibility": "public"}
    image = call(base, "POST", "/image/v2/images", admin, 201, json=doc).json()["id"]
    call(base, "PUT", f"/image/v2/images/{image}/file", admin, 204, content=path.read_bytes(),
         headers={"Content-Type": "application/octet-stream"})
    wait_until(lambda: call(base, "GET", f"/image/v2/images/{image}", admin).json()["status"] == "active", 60,
               "image active")
    return image


def make_projects(base: str, admin: str, count: int, pool: ThreadPoolExecutor) -> list[str]:
    """`count` projects with one member user in all of them; returns one project-scoped token per project."""
    domain = call(base, "GET", f"{V3}/domains?name=Default", admin).json()["domains"][0]["id"]
    role = call(base, "GET", f"{V3}/roles?name=member", admin).json()["roles"][0]["id"]
    password = secrets.token_urlsafe(18)
    user_doc = {"user": {"name": "cp-bench", "domain_id": domain, "password": password}}
    user = call(base, "POST", f"{V3}/users", admin, 201, json=user_doc).json()["user"]["id"]

    def project(i: int) -> str:
        doc = {"project": {"name": f"cp-bench-{i:04d}", "domain_id": domain}}
        pid = call(base, "POST", f"{V3}/projects", admin, 201, json=doc).json()["project"]["id"]
        call(base, "PUT", f"{V3}/projects/{pid}/users/{user}/roles/{role}", admin, 204)
        return pid

    projects = list(pool.map(project, range(count)))
    first = auth(base, {"methods": ["password"], "password": {"user": {"id": user, "password": password}}},
                 {"project": {"id": projects[0]}})
    ident = {"methods": ["token"], "token": {"id": first}}
    return list(pool.map(lambda p: auth(base, ident, {"project": {"id": p}}), projects))


def agent_log(log: Path, wall0: float) -> tuple[Counter[str], list[float]]:
    """Exceptions ending the agent's 'reconciling ... failed' tracebacks; its full resyncs (s after wall0)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors: Counter[str] = Counter()
    for i in (i for i, line in enumerate(lines) if "reconciling" in line and "failed" in line):
        tail = (x for x in lines[i + 1:i + 40] if x and not x[0].isspace() and not x.startswith("Traceback"))
        errors[next(tail, "?").split(":", 1)[0]] += 1
    full = [datetime.strptime(x[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp() - wall0 for x in lines if "since=0&" in x]
    return errors, [t for t in full if t > 0]


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def sample(base: str, path: str, token: str, n: int, warmup: int = 3) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(n + warmup):
        t0 = time.perf_counter()
        size = len(call(base, "GET", path, token).content)
        times.append((time.perf_counter() - t0) * 1000)
    return times[warmup:], size


def settle(pid: int, limit: int = 30) -> tuple[float, float]:
    """Wait (bounded) until the server uses < 10% of a core over one second; (seconds waited, last CPU)."""
    t0, cpu = time.monotonic(), 1.0
    for _ in range(limit):
        c0 = proc_cpu(pid)
        time.sleep(1)
        if (cpu := proc_cpu(pid) - c0) < 0.1:
            break
    return time.monotonic() - t0, cpu


def create_all(base: str, image: str, tokens: list[str], count: int, pool: ThreadPoolExecutor) -> list[float]:
    def create(k: int) -> float:
        body = {"server": {"name": f"cp-{k}", "imageRef": image, "flavorRef": "1"}}
        t0 = time.perf_counter()
        call(base, "POST", f"{NOVA}/servers", tokens[k % len(tokens)], 202, json=body)  # round-robin projects
        return (time.perf_counter() - t0) * 1000

    return list(pool.map(create, range(count)))


def create_phase(base: str, data: Path, tmp: Path, server_pid: int, args: argparse.Namespace) -> tuple[str, str, int]:
    """Create the servers and wait until none is in BUILD; returns (admin token, a project token, servers listed)."""
    admin = admin_token(base, data)
    wait_until(lambda: any(s["state"] == "up" for s in call(base, "GET", f"{NOVA}/os-services", admin)
                           .json()["services"]), 60, "host agent registered")
    image = upload_image(base, admin, tmp)
    count = args.count
    with ThreadPoolExecutor(args.concurrency) as pool:
        t0 = time.monotonic()
        tokens = make_projects(base, admin, math.ceil(count / 10), pool)
        print(f"setup: {len(tokens)} projects + member role + tokens in {time.monotonic() - t0:.1f} s\n")
        agent, c0, s0, t0, wall0 = agent_pid(data), self_cpu(), proc_cpu(server_pid), time.monotonic(), time.time()
        a0 = proc_cpu(agent)
        post_ms = create_all(base, image, tokens, count, pool)
        accepted = time.monotonic() - t0
        c1, s1 = self_cpu(), proc_cpu(server_pid)

    def none_building() -> bool:
        return not call(base, "GET", f"{NOVA}/servers?all_tenants=1&status=BUILD", admin).json()["servers"]

    wait_until(none_building, args.timeout, "all servers out of BUILD", every=0.25)
    active = time.monotonic() - t0
    s2, a2 = proc_cpu(server_pid), proc_cpu(agent)
    listed = call(base, "GET", f"{NOVA}/servers/detail?all_tenants=1", admin).json()["servers"]
    states = dict(Counter(s["status"] for s in listed))
    print(f"1. Create {count} servers (m1.tiny), {args.concurrency} concurrent client threads, "
          f"{len(tokens)} projects")
    print(f"  accepted: {count / accepted:7.1f} creates/s ({accepted:.1f} s)  POST p50 {pct(post_ms, 50):.0f} ms "
          f"p90 {pct(post_ms, 90):.0f} ms  | client CPU {(c1 - c0) / accepted:4.0%}  "
          f"server CPU {(s1 - s0) / accepted:4.0%}")
    verdict = "meets" if count / active >= 50 else "BELOW"
    print(f"  to ACTIVE: {count / active:6.1f} creates/s ({active:.1f} s from first POST until none in BUILD, "
          f"polled every 0.25 s) (target >= 50/s: {verdict})")
    launched = sorted(datetime.fromisoformat(s["OS-SRV-USG:launched_at"]).timestamp() - wall0 for s in listed
                      if s.get("OS-SRV-USG:launched_at"))
    if launched:
        marks = "  ".join(f"{q}% {launched[max(0, math.ceil(q / 100 * len(launched)) - 1)]:5.1f} s"
                          for q in (50, 90, 99, 100))
        print(f"  became ACTIVE (launched_at - first POST): {marks}")
    print(f"  statuses: {states}  | whole phase: server CPU {(s2 - s0) / active:4.0%}  "
          f"agent CPU {(a2 - a0) / active:4.0%}  (fractions of one core)")
    # CPU time per server, steadier than throughput on a shared machine: compare these between two trees.
    print(f"  CPU per server created: server {(s1 - s0) / count * 1000:.1f} ms to accept, "
          f"{(s2 - s0) / count * 1000:.1f} ms until ACTIVE; agent {(a2 - a0) / count * 1000:.1f} ms")
    errors, full = agent_log(data / "logs" / "agent.log", wall0)
    print(f"  agent log: {sum(errors.values())} reconcile errors {dict(errors) or ''}; full resyncs (since=0) at "
          + ", ".join(f"+{t:.1f} s" for t in full) + "\n")
    return admin, tokens[0], len(listed)


def list_phase(base: str, server_pid: int, admin: str, project: str, listed: int, samples: int) -> None:
    waited, cpu = settle(server_pid)
    print(f"(waited {waited:.0f} s for the server to go idle: {cpu:.0%} CPU over the last second)\n")
    rows = [("GET /compute/v2.1/flavors (baseline, admin)", f"{NOVA}/flavors", admin, 2 * samples),
            (f"GET /servers/detail?all_tenants=1 ({listed} servers)", f"{NOVA}/servers/detail?all_tenants=1",
             admin, samples),
            (f"GET /servers?all_tenants=1 ({listed}, summary view)", f"{NOVA}/servers?all_tenants=1", admin, samples),
            ("GET /servers/detail, one project (10 servers)", f"{NOVA}/servers/detail", project, samples),
            ("GET /v2.0/ports (admin, every project's)", f"{NEUTRON}/ports", admin, samples),
            ("GET /v2.0/security-groups (admin, every project's)", f"{NEUTRON}/security-groups", admin, samples),
            ("GET /v2.0/networks, one project", f"{NEUTRON}/networks", project, samples)]
    print("2. Sequential GET latency, one client, after warm-up")
    base_p50 = detail_p50 = 0.0
    for name, path, token, n in rows:
        c0, s0, t0 = self_cpu(), proc_cpu(server_pid), time.monotonic()
        times, size = sample(base, path, token, n)
        wall = time.monotonic() - t0
        p50 = pct(times, 50)
        base_p50 = base_p50 or p50
        detail_p50 = detail_p50 or (p50 if "detail?all_tenants" in path else 0.0)
        print(f"  {name:50s} p50 {p50:7.1f} ms  p90 {pct(times, 90):7.1f} ms  n={n}  {size / 1024:6.0f} KiB  "
              f"x{p50 / base_p50:6.1f} baseline  client CPU {(self_cpu() - c0) / wall:4.0%}  "
              f"server CPU {(proc_cpu(server_pid) - s0) / wall:4.0%}")
    print(f"\n  GET /servers/detail with {listed} servers: p50 {detail_p50:.1f} ms "
          f"(target <= 100 ms: {'meets' if detail_p50 <= 100 else 'ABOVE'}); "
          f"{detail_p50 / base_p50:.1f}x the flavors baseline p50 {base_p50:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=1000, help="servers to create (default 1000)")
    ap.add_argument("--concurrency", type=int, default=12, help="concurrent client requests (default 12)")
    ap.add_argument("--samples", type=int, default=25, help="GET samples per listing (default 25)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed to reach ACTIVE (default 300)")
    args = ap.parse_args()
    args.count = max(1, min(args.count, 5000))
    tmp = Path(tempfile.mkdtemp(prefix="andromede-cp-"))
    data = tmp / "data"
    try:
        port = free_port()
        base = f"http://{HOST}:{port}"
        argv = [str(Path(sys.executable).parent / "andromede"), "up", "--data-dir", str(data),
                "--listen", f"{HOST}:{port}", "--insecure-http", "--agent-driver", "fake"]
        os.environ["ANDROMEDE_TINY_IMAGE"] = "skip"
        print(f"Andromède control-plane bench — fake driver, plain HTTP, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f}\n")
        with launched(argv, f"{base}{V3}", tmp / "andromede.log") as server:
            try:
                admin, project, listed = create_phase(base, data, tmp, server.pid, args)
                list_phase(base, server.pid, admin, project, listed, args.samples)
            finally:
                stop_agent(data)
    finally:
        stop_agent(data)
        for client in _clients:
            client.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
