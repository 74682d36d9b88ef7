"""Identity API benchmark: prints figures and ratios against a hello-world measured in the same run.

Not a test: it never asserts speed. Run: .venv/bin/python bench/identity.py [--duration SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from support import HOST, children_cpu, free_port, launched, proc_cpu

HELLO = """import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def hello(request):
    return PlainTextResponse("hello")

app = Starlette(routes=[Route("/", hello)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, server_header=False)
"""
# The framework's own ceiling: FastAPI, one async dependency, a small JSON body. Printed for context.
FASTAPI_HELLO = """import sys
import uvicorn
from fastapi import Depends, FastAPI, Request

app = FastAPI()

async def caller(request: Request):
    return request.headers.get("x-auth-token")

@app.get("/")
async def hello(token=Depends(caller)):
    return {"hello": "world"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, server_header=False)
"""
SCOPE = {"project": {"name": "demo", "domain": {"name": "Default"}}}


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx/3xx responses plus socket errors
    client_cpu: float  # fraction of one core
    server_cpu: float


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse_wrk(out: str) -> tuple[float, float, float, int, int]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return rps, p50, p99, total, bad + (sum(int(g) for g in m.groups()) if m else 0)


def run_wrk(url: str, pid: int, args: argparse.Namespace, lua: Path | None, headers: dict[str, str]) -> Load:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    argv += [x for k, v in headers.items() for x in ("-H", f"{k}: {v}")] + (["-s", str(lua)] if lua else []) + [url]
    c0, s0, t0 = children_cpu(), proc_cpu(pid), time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60, check=True).stdout
    wall = time.monotonic() - t0
    rps, p50, p99, total, bad = parse_wrk(out)
    return Load(rps, p50, p99, total, bad, (children_cpu() - c0) / wall, (proc_cpu(pid) - s0) / wall)


def py_worker(url: str, method: str, body: str, headers: dict[str, str], seconds: float) -> tuple[int, int]:
    ok = bad = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(headers=headers, timeout=30) as client:
        while time.monotonic() < deadline and ok + bad < 10_000_000:
            r = client.request(method, url, content=body or None)
            ok, bad = (ok + 1, bad) if r.status_code < 400 else (ok, bad + 1)
    return ok, bad


def run_python(url: str, pid: int, args: argparse.Namespace, method: str, body: str, headers: dict[str, str]) -> Load:
    from concurrent.futures import ProcessPoolExecutor

    c0, s0, t0 = children_cpu(), proc_cpu(pid), time.monotonic()
    workers = min(args.connections, 4 * (os.cpu_count() or 1))
    with ProcessPoolExecutor(workers) as pool:
        jobs = [pool.submit(py_worker, url, method, body, headers, args.duration) for _ in range(workers)]
        counts = [j.result(timeout=args.duration + 60) for j in jobs]
    wall = time.monotonic() - t0
    ok, bad = sum(c[0] for c in counts), sum(c[1] for c in counts)
    cpu = ((children_cpu() - c0) / wall, (proc_cpu(pid) - s0) / wall)
    return Load((ok + bad) / wall, float("nan"), float("nan"), ok + bad, bad, *cpu)


def load(
    url: str,
    pid: int,
    args: argparse.Namespace,
    tmp: Path,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Load:
    headers = dict(headers or {})
    if body is not None:
        headers["Content-Type"] = "application/json"
    if not args.wrk:
        return run_python(url, pid, args, "POST" if body else "GET", json.dumps(body) if body else "", headers)
    lua = None
    if body is not None:
        lua = tmp / "post.lua"
        lua.write_text(f'wrk.method = "POST"\nwrk.body = [==[{json.dumps(body)}]==]\n')
    return run_wrk(url, pid, args, lua, headers)


def password_body(password: str) -> dict:
    user = {"name": "demo", "domain": {"name": "Default"}, "password": password}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": SCOPE}}


def issue_latency(base: str, password: str, count: int) -> tuple[float, float, str]:
    samples: list[float] = []
    token = ""
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(count + 10):
            t0 = time.perf_counter()
            r = client.post("/identity/v3/auth/tokens", json=password_body(password))
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status_code != 201:
                raise RuntimeError(f"password auth failed: {r.status_code} {r.text[:300]}")
            token = r.headers["X-Subject-Token"]
            if i >= 10:  # the first 10 are warmup
                samples.append(elapsed)
    q = statistics.quantiles(samples, n=100)
    return q[49], q[98], token


def fmt(load: Load) -> str:
    flag = "  ** INVALID: over 1% failed **" if load.bad > 0.01 * max(load.requests, 1) else ""
    return (
        f"{load.rps:9.1f} req/s  p50 {load.p50_ms:7.2f} ms  p99 {load.p99_ms:7.2f} ms  "
        f"failed {load.bad}/{load.requests}  client CPU {load.client_cpu:4.0%}  server CPU {load.server_cpu:4.0%}"
        f"{flag}"
    )


def compare(name: str, target: Load, base: list[Load], goal: float, note: str = "") -> None:
    mean = statistics.fmean(b.rps for b in base)
    ratio = target.rps / mean
    print(f"{name}\n  target     {fmt(target)}")
    for b in base:
        print(f"  hello      {fmt(b)}")
    verdict = "meets" if ratio >= goal else "BELOW"
    if any(x.bad > 0.01 * max(x.requests, 1) for x in [target, *base]):
        verdict = "INVALID RUN, over 1% failed responses: ratio not meaningful"
    print(f"  ratio {ratio:.3f} of hello-world mean {mean:.1f} req/s (target >= {goal}: {verdict}){note}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=int, default=10, help="seconds per load phase (default 10)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=200, help="sequential password-token requests")
    ap.add_argument("--python-client", action="store_true", help="use Python processes even if wrk is installed")
    args = ap.parse_args()
    args.wrk = bool(shutil.which("wrk")) and not args.python_client
    bindir = Path(sys.executable).parent
    tmp = Path(tempfile.mkdtemp(prefix="andromede-bench-"))
    try:
        (tmp / "hello.py").write_text(HELLO)
        (tmp / "fastapi_hello.py").write_text(FASTAPI_HELLO)
        a_port, h_port, f_port = free_port(), free_port(), free_port()
        base, hello = f"http://{HOST}:{a_port}", f"http://{HOST}:{h_port}/"
        argv = [str(bindir / "andromede"), "up", "--data-dir", str(tmp / "data")]
        argv += ["--listen", f"{HOST}:{a_port}", "--insecure-http", "--agent-driver", "none"]
        os.environ["ANDROMEDE_TINY_IMAGE"] = "skip"  # identity only: no guest image, no host agent
        with (
            launched(argv, f"{base}/identity/v3", tmp / "andromede.log") as app,
            launched([sys.executable, str(tmp / "hello.py"), str(h_port)], hello, tmp / "hello.log") as hw,
        ):
            clouds = yaml.safe_load((tmp / "data" / "clouds.yaml").read_text())
            password = clouds["clouds"]["andromede"]["auth"]["password"]
            client = "wrk" if args.wrk else "Python processes (NOTE: not wrk, the client may be the bottleneck)"
            print(
                f"Andromède identity bench — plain HTTP (--insecure-http, no TLS cost), {os.cpu_count()} CPUs, "
                f"{args.duration}s/phase, {args.connections} connections, client: {client}\n"
            )
            p50, p99, token = issue_latency(base, password, args.samples)
            print(f"1. Password token issue, concurrency 1, {args.samples} requests after 10 warmup")
            print(
                f"  p50 {p50:.1f} ms (target <= 60 ms: {'meets' if p50 <= 60 else 'ABOVE'}; "
                f"upstream Keystone bcrypt-12: 252 ms)  p99 {p99:.1f} ms\n"
            )

            def hello_load() -> Load:
                return load(hello, hw.pid, args, tmp)

            rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}, "scope": SCOPE}}
            b1 = hello_load()
            rescoped = load(f"{base}/identity/v3/auth/tokens", app.pid, args, tmp, body=rescope)
            b2 = hello_load()
            projects = load(f"{base}/identity/v3/auth/projects", app.pid, args, tmp, headers={"X-Auth-Token": token})
            b3 = hello_load()
            compare("2. Token-method (rescope) issue, POST /identity/v3/auth/tokens", rescoped, [b1, b2], 0.2)
            note = "; upstream Keystone: 0.064"
            compare("3. Authenticated GET /identity/v3/auth/projects", projects, [b2, b3], 0.3, note)
            fastapi_url = f"http://{HOST}:{f_port}/"
            fastapi_cmd = [sys.executable, str(tmp / "fastapi_hello.py"), str(f_port)]
            with launched(fastapi_cmd, fastapi_url, tmp / "fastapi.log") as fh:
                ceiling = load(fastapi_url, fh.pid, args, tmp)
            mean = statistics.fmean(b.rps for b in (b1, b2, b3))
            print(f"Context: FastAPI hello-world (one dependency), served the same way\n  {fmt(ceiling)}")
            print(f"  = {ceiling.rps / mean:.3f} of the Starlette hello-world: the framework's own ceiling; "
                  f"rescope reaches {rescoped.rps / ceiling.rps:.2f} of it, /auth/projects "
                  f"{projects.rps / ceiling.rps:.2f}\n")
            print(
                "CPU figures are fractions of one core (this machine has "
                f"{os.cpu_count()}); client near 100%/core means the load generator may have saturated."
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
