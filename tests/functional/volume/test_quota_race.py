"""Volume creates sent at once to a project at its quota, through the API: exactly the quota's worth succeed. (One
server process runs creates one at a time; the race between processes is tests/unit/volume/test_races.py's.)"""

from __future__ import annotations

import threading

from tests.support.accounts import Admin, auth_headers
from tests.support.server import Server


def test_parallel_creates_at_the_quota_never_overrun_it(server: Server, admin: Admin) -> None:
    member = admin.account("member")
    limit, racers = 2, 8
    quota = admin.client.put(f"/volume/v3/{admin.project_id}/os-quota-sets/{member.project_id}",
                             json={"quota_set": {"volumes": limit}})
    assert quota.status_code == 200, quota.text
    token = member.token(server)
    volumes = f"/volume/v3/{member.project_id}/volumes"
    start = threading.Barrier(racers)
    statuses: list[int] = []

    def create(index: int) -> None:
        with server.http() as client:
            client.headers.update(auth_headers(token))
            start.wait()
            statuses.append(client.post(volumes, json={"volume": {"size": 1, "name": f"race-{index}"}},
                                        timeout=60).status_code)

    threads = [threading.Thread(target=create, args=(index,)) for index in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] * limit + [413] * (racers - limit)
    with server.http() as mine:
        listed = mine.get(volumes, headers=auth_headers(token))
    assert listed.status_code == 200 and len(listed.json()["volumes"]) == limit
