"""What one hostile `GET /servers?name=(a+)+$` costs the API, against a plain `?name=abc` list in the same run.

The cloud holds one server whose name is `a` repeated N times and a `!` (a backtracking engine tries every way to
split the run of `a`s before failing), and a few ordinary ones. Printed: the plain list's median, the hostile list,
their ratio, and how long a plain list sent while the hostile one runs has to wait (the API process is shared).

Not a test: it never asserts speed. Run:
  .venv/bin/python bench/regex_filter.py [--name-length N] [--timeout S]
The default N (24) keeps a backtracking engine's cost to seconds, so a tree without the fix finishes too;
N up to 254 fits in a server name.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.functional.image import corpus
from tests.support.server import Server, free_port

HOSTILE = "(a+)+$"


def _timed_list(client: httpx.Client, name: str, timeout: float) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        status = client.get("/compute/v2.1/servers", params={"name": name}, timeout=timeout).status_code
    except httpx.TimeoutException:
        status = 0
    return (time.perf_counter() - started) * 1000, status


def _image(client: httpx.Client, tmp: Path) -> str:
    image = client.post("/image/v2/images", json={"name": "bench", "disk_format": "qcow2",
                                                  "container_format": "bare"}).json()
    data = corpus.small_qcow2(tmp / "bench.qcow2", "16M").read_bytes()
    client.put(f"/image/v2/images/{image['id']}/file", content=data,
               headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return image["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name-length", type=int, default=24, help="length of the run of 'a's (1-254)")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up on the hostile list after S seconds")
    parser.add_argument("--plain-runs", type=int, default=21)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="andromede-bench-regex-"))
    cloud = Server(data_dir=tmp / "data", port=free_port())
    cloud.start()
    try:
        with cloud.http() as client:
            client.headers["X-Auth-Token"] = cloud.admin_token()
            image_id = _image(client, tmp)
            names = ["a" * args.name_length + "!"] + [f"vm-{secrets.token_hex(3)}" for _ in range(4)]
            for name in names:
                made = client.post("/compute/v2.1/servers", json={"server": {
                    "name": name, "imageRef": image_id, "flavorRef": "1"}})
                made.raise_for_status()
            plain = [_timed_list(client, "abc", 30)[0] for _ in range(args.plain_runs)]
            plain_ms = statistics.median(plain)

            meanwhile: list[float] = []

            def bystander() -> None:
                time.sleep(0.05)
                with cloud.http() as other:
                    other.headers["X-Auth-Token"] = client.headers["X-Auth-Token"]
                    meanwhile.append(_timed_list(other, "abc", args.timeout + 30)[0])

            waiting = threading.Thread(target=bystander)
            waiting.start()
            hostile_ms, status = _timed_list(client, HOSTILE, args.timeout)
            waiting.join()
    finally:
        cloud.stop()

    print(f"server name: 'a' x {args.name_length} + '!'; pattern {HOSTILE!r}")
    print(f"plain ?name=abc list:     {plain_ms:9.1f} ms (median of {args.plain_runs})")
    if status == 0:
        print(f"hostile ?name= list:      > {args.timeout * 1000:.0f} ms (gave up; the API was still working)")
    else:
        print(f"hostile ?name= list:      {hostile_ms:9.1f} ms (HTTP {status})")
    print(f"plain list sent meanwhile: {meanwhile[0] if meanwhile else float('nan'):9.1f} ms")
    print(f"ratio hostile/plain:      {hostile_ms / plain_ms:9.2f}")


if __name__ == "__main__":
    main()
