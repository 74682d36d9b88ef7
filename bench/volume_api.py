"""Volume benchmark, part 3 (issue 16): `POST /volumes` → `available` through the whole cloud, against the storage
driver alone making the same volume in the same run (its baseline).

An all-in-one cloud (`andromede up`, fake hypervisor, the real volume agent with its qcow2+LUKS file driver) in a
temporary data dir. Measured N times each, one at a time: a blank encrypted 10 GiB volume, and a 1 GiB encrypted
volume from the tiny guest image (raw, as `andromede image build` leaves it; uploaded once to the image service).
Create → available is the POST until a poll (every 50 ms) sees `available`: placement, the key made in the key
manager, the agent's long-poll wake-up, the key fetched, qemu-img, the report. The baseline is FileDriver.create /
create_from_image on the same file system, as the agent calls them, so "overhead" is what the cloud adds.
Issue 16's target: ≤ 1 s median for each.

Not a test: it never asserts speed. Run: .venv/bin/python bench/volume_api.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from andromede.guest import build_tiny_image, default_cache_dir
from andromede.volume.agent.drivers.file import FileDriver
from support import HOST, free_port, launched, stop_agent

V3 = "/identity/v3"


def member_session(base: str, data: Path) -> tuple[httpx.Client, str]:
    """A member of a new project (the operator's credential is system-scoped: volumes belong to projects)."""
    cred = yaml.safe_load((data / "clouds.yaml").read_text())["clouds"]["andromede-admin"]["auth"]
    client = httpx.Client(base_url=base, timeout=120)

    def token(identity: dict, scope: dict | None = None) -> httpx.Response:
        made = client.post(f"{V3}/auth/tokens", json={"auth": {"identity": identity, **({"scope": scope} if scope
                                                                                         else {})}})
        made.raise_for_status()
        return made

    admin = {"X-Auth-Token": token({"methods": ["application_credential"], "application_credential": {
        "id": cred["application_credential_id"], "secret": cred["application_credential_secret"]}}
    ).headers["X-Subject-Token"]}
    project = client.post(f"{V3}/projects", headers=admin, json={"project": {"name": "vol-bench"}}).json()["project"]
    password = os.urandom(12).hex()
    user = client.post(f"{V3}/users", headers=admin, json={"user": {"name": "vol-bench", "password": password,
                                                                     "domain_id": project["domain_id"]}}
                       ).json()["user"]
    member = client.get(f"{V3}/roles", headers=admin, params={"name": "member"}).json()["roles"][0]
    client.put(f"{V3}/projects/{project['id']}/users/{user['id']}/roles/{member['id']}",
               headers=admin).raise_for_status()
    made = token({"methods": ["password"], "password": {"user": {"id": user["id"], "password": password}}},
                 {"project": {"id": project["id"]}})
    client.headers["X-Auth-Token"] = made.headers["X-Subject-Token"]
    return client, project["id"]


def wait_until(check, timeout: float, what: str, every: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def upload(client: httpx.Client, image: Path) -> str:
    made = client.post("/image/v2/images", json={"name": "bench-tiny", "disk_format": "raw",
                                                 "container_format": "bare"})
    made.raise_for_status()
    image_id = made.json()["id"]
    with image.open("rb") as handle:
        client.put(f"/image/v2/images/{image_id}/file", content=handle,
                   headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return image_id


def api_create(client: httpx.Client, project: str, body: dict) -> float:
    base = f"/volume/v3/{project}/volumes"
    t0 = time.monotonic()
    made = client.post(base, json={"volume": body})
    made.raise_for_status()
    volume_id = made.json()["volume"]["id"]

    def available() -> bool:
        status = client.get(f"{base}/{volume_id}").json()["volume"]["status"]
        if status == "error":
            raise RuntimeError(f"volume {volume_id} went to error")
        return status == "available"

    wait_until(available, 300, f"volume {volume_id} available")
    elapsed = time.monotonic() - t0
    client.delete(f"{base}/{volume_id}").raise_for_status()
    wait_until(lambda: client.get(f"{base}/{volume_id}").status_code == 404, 120, f"volume {volume_id} gone")
    return elapsed


def warm_up(client: httpx.Client, project: str, timeout: float = 90) -> None:
    """Until the volume agent has polled once, no host takes volumes (they are created in error): retry."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            api_create(client, project, {"size": 1})
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            for volume in client.get(f"/volume/v3/{project}/volumes").json()["volumes"]:
                client.delete(f"/volume/v3/{project}/volumes/{volume['id']}")
            time.sleep(1)


def driver_create(directory: Path, make) -> float:  # type: ignore[no-untyped-def]
    driver = FileDriver(directory)
    volume_id = str(uuid.uuid4())
    t0 = time.monotonic()
    make(driver, volume_id, os.urandom(64))
    elapsed = time.monotonic() - t0
    driver.delete(volume_id)
    return elapsed


def line(name: str, api: list[float], alone: list[float]) -> str:
    a, d = statistics.median(api), statistics.median(alone)
    verdict = "meets" if a <= 1.0 else "ABOVE"
    return (f"{name:<34} API {a:6.3f} s (min {min(api):.3f})  driver alone {d:6.3f} s  overhead {a - d:+.3f} s  "
            f"ratio {a / d:5.2f}  (target <= 1 s: {verdict})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="volumes of each kind (default 5)")
    args = ap.parse_args()
    image = build_tiny_image(default_cache_dir())
    tmp = Path(tempfile.mkdtemp(prefix="andromede-vol-"))
    data = tmp / "data"
    port = free_port()
    base = f"http://{HOST}:{port}"
    argv = [str(Path(sys.executable).parent / "andromede"), "up", "--data-dir", str(data),
            "--listen", f"{HOST}:{port}", "--insecure-http", "--agent-driver", "fake"]
    os.environ["ANDROMEDE_TINY_IMAGE"] = "skip"
    print(f"Andromède volume API bench: {args.runs} volumes of each kind, one at a time, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    try:
        with launched(argv, f"{base}{V3}", tmp / "andromede.log"):
            try:
                client, project = member_session(base, data)
                image_id = upload(client, image)
                warm_up(client, project)
                blank_api, blank_alone, image_api, image_alone = [], [], [], []
                for _ in range(args.runs):  # ABAB: the cloud and the driver alone take turns
                    blank_api.append(api_create(client, project, {"size": 10}))
                    blank_alone.append(driver_create(tmp / "alone", lambda d, v, k: d.create(v, 10, key=k)))
                    image_api.append(api_create(client, project, {"size": 1, "imageRef": image_id}))
                    image_alone.append(driver_create(tmp / "alone", lambda d, v, k: d.create_from_image(
                        v, image, "raw", 1, key=k)))
                print(line("blank 10 GiB, encrypted", blank_api, blank_alone))
                print(line("1 GiB from the tiny image, encrypted", image_api, image_alone))
            finally:
                stop_agent(data)
    finally:
        stop_agent(data)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
