"""The golden scenario: every route of every service, once as it is meant to be used and once refused.

It runs against a cloud of its own with no host agent (`--agent-driver none`): the scenario plays the one host
itself through the internal API (registers it, reads its desired state, reports its servers running), so nothing
happens in the background and every answer is the same from run to run. Steps are named; names are unique.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
from pathlib import Path

import yaml

from tests.golden import routes
from tests.golden.recorder import Recorder
from tests.support.hosts import host_command
from tests.support.server import Server

HERE = Path(__file__).parent
IMAGE = HERE / "tiny.qcow2.gz"  # `qemu-img create -f qcow2 x 16M`, kept so its checksums never change
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8G9xvG1y8Vg3Lr6x0nX1mF5yWmG2y3sQ2p4rQ2r9vK "
              "golden@test")
HOST = "golden-hv"
CAPACITY = {"vcpus": 8, "memory_mib": 8192, "disk_gib": 100, "accelerator": "fake"}
MISSING = "00000000-0000-4000-8000-000000000000"
MISSING_HEX = "0" * 31 + "1"
NOVA_21 = {"OpenStack-API-Version": "compute 2.1"}
BAD_JSON = b'{"not": json'


def password_body(name: str, password: str, project: str | None = None) -> dict:
    body: dict = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"id": "default"}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return body


def volume_snapshots(scenario: Scenario) -> None:
    """Issue 16, volume snapshots: alice snapshots a volume; the scenario plays the host's agent taking and dropping
    it through the internal API."""
    c, t, h, bob = scenario.call, scenario.alice_token, scenario.host_token, scenario.bob_token
    base, bob_base = f"/volume/v3/{scenario.project_a['id']}", f"/volume/v3/{scenario.project_b['id']}"
    vid = c("snapshot volume create", "POST", f"{base}/volumes", token=t,
            json={"volume": {"size": 1, "name": "golden-snapshotted"}}, expect=202).json()["volume"]["id"]
    c("snapshot volume observed available", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "available"}, expect=200)
    c("cinder snapshot create bad body", "POST", f"{base}/snapshots", token=t, json={"snapshot": {}}, expect=400)
    c("cinder snapshot create of another project's volume", "POST", f"{bob_base}/snapshots", token=bob,
      json={"snapshot": {"volume_id": vid}}, expect=404)
    made = c("cinder snapshot create", "POST", f"{base}/snapshots", token=t, json={"snapshot": {
        "volume_id": vid, "name": "golden-snapshot", "description": "d", "force": False,
        "metadata": {"k": "v"}}}, expect=202).json()["snapshot"]
    sid, snapshot = made["id"], f"{base}/snapshots/{made['id']}"
    c("host desired volumes with a snapshot", "GET", f"/internal/v1/hosts/{HOST}/volumes", token=h, expect=200)
    observed = f"/internal/v1/snapshots/{sid}/observed"
    c("snapshot observed bad body", "PUT", observed, token=h, json={"status": "frozen"}, expect=400)
    c("snapshot observed missing", "PUT", f"/internal/v1/snapshots/{MISSING}/observed", token=h,
      json={"status": "available"}, expect=404)
    c("snapshot observed available", "PUT", observed, token=h, json={"status": "available"}, expect=200)
    c("cinder snapshot list", "GET", f"{base}/snapshots", token=t, expect=200)
    c("cinder snapshot list detail", "GET", f"{base}/snapshots/detail?volume_id={vid}", token=t, expect=200)
    c("cinder snapshot list bad sort", "GET", f"{base}/snapshots/detail?sort=colour", token=t, expect=400)
    c("cinder snapshot list as another project", "GET", f"{base}/snapshots", token=bob, expect=404)
    c("cinder snapshot show", "GET", snapshot, token=t, expect=200)
    c("cinder snapshot show as another project", "GET", f"{bob_base}/snapshots/{sid}", token=bob, expect=404)
    c("cinder snapshot update", "PUT", snapshot, token=t, json={"snapshot": {"name": "golden-renamed"}},
      expect=200)
    c("cinder snapshot update bad body", "PUT", snapshot, token=t, json={"snapshot": {"name": 3}}, expect=400)
    c("cinder snapshot metadata", "GET", f"{snapshot}/metadata", token=t, expect=200)
    c("cinder snapshot metadata as another project", "GET", f"{bob_base}/snapshots/{sid}/metadata", token=bob,
      expect=404)
    c("cinder snapshot metadata merge", "POST", f"{snapshot}/metadata", token=t, json={"metadata": {"x": "y"}},
      expect=200)
    c("cinder snapshot metadata merge bad body", "POST", f"{snapshot}/metadata", token=t,
      json={"metadata": {"x": 1}}, expect=400)
    c("cinder snapshot metadata replace", "PUT", f"{snapshot}/metadata", token=t, json={"metadata": {"x": "z"}},
      expect=200)
    c("cinder snapshot metadata bad body", "PUT", f"{snapshot}/metadata", token=t, json={"meta": {}}, expect=400)
    c("cinder snapshot metadata delete", "DELETE", f"{snapshot}/metadata/x", token=t, expect=200)
    c("cinder snapshot metadata delete missing", "DELETE", f"{snapshot}/metadata/x", token=t, expect=404)
    c("cinder volume delete with a snapshot", "DELETE", f"{base}/volumes/{vid}", token=t, expect=400)
    c("cinder limits with a snapshot", "GET", f"{base}/limits", token=t, expect=200)
    c("cinder volume create from another project's snapshot", "POST", f"{bob_base}/volumes", token=bob,
      json={"volume": {"size": 1, "snapshot_id": sid}}, expect=404)
    c("cinder volume create from a snapshot too small", "POST", f"{base}/volumes", token=t,
      json={"volume": {"size": 0, "snapshot_id": sid}}, expect=400)
    copies = [c(f"cinder volume create from {kind}", "POST", f"{base}/volumes", token=t,
                json={"volume": {"name": f"golden-from-{kind}", **body}}, expect=202).json()["volume"]["id"]
              for kind, body in (("snapshot", {"snapshot_id": sid}), ("source volume", {"source_volid": vid}))]
    c("cinder volume create from a volume of another project", "POST", f"{bob_base}/volumes", token=bob,
      json={"volume": {"size": 1, "source_volid": vid}}, expect=404)
    c("cinder snapshot delete while a volume is made from it", "DELETE", snapshot, token=t, expect=400)
    c("host desired volumes with copies", "GET", f"/internal/v1/hosts/{HOST}/volumes", token=h, expect=200)
    for kind, copy in zip(("snapshot", "source volume"), copies, strict=True):
        c(f"copy of {kind} observed available", "PUT", f"/internal/v1/volumes/{copy}/observed", token=h,
          json={"status": "available"}, expect=200)
        c(f"cinder volume show copy of {kind}", "GET", f"{base}/volumes/{copy}", token=t, expect=200)
        c(f"copy of {kind} delete", "DELETE", f"{base}/volumes/{copy}", token=t, expect=202)
        c(f"copy of {kind} observed gone", "PUT", f"/internal/v1/volumes/{copy}/observed", token=h,
          json={"status": "gone"}, expect=200)
    c("cinder snapshot delete as another project", "DELETE", f"{bob_base}/snapshots/{sid}", token=bob, expect=404)
    c("cinder snapshot delete", "DELETE", snapshot, token=t, expect=202)
    c("cinder snapshot delete while deleting", "DELETE", snapshot, token=t, expect=400)
    c("snapshot observed gone", "PUT", observed, token=h, json={"status": "gone"}, expect=200)
    c("cinder snapshot show gone", "GET", snapshot, token=t, expect=404)
    action = f"{base}/volumes/{vid}/action"
    c("cinder volume extend bad body", "POST", action, token=t, json={"os-extend": {"new_size": "x"}}, expect=400)
    c("cinder volume extend as another project", "POST", f"{bob_base}/volumes/{vid}/action", token=bob,
      json={"os-extend": {"new_size": 2}}, expect=404)
    c("cinder volume extend not bigger", "POST", action, token=t, json={"os-extend": {"new_size": 1}}, expect=400)
    c("cinder volume extend", "POST", action, token=t, json={"os-extend": {"new_size": 2}}, expect=202)
    c("cinder volume show extending", "GET", f"{base}/volumes/{vid}", token=t, expect=200)
    c("cinder volume extend while extending", "POST", action, token=t, json={"os-extend": {"new_size": 3}},
      expect=400)
    c("host desired volumes with an extend", "GET", f"/internal/v1/hosts/{HOST}/volumes", token=h, expect=200)
    c("extend volume observed available", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "available"}, expect=200)
    c("cinder volume show extended", "GET", f"{base}/volumes/{vid}", token=t, expect=200)
    c("snapshot volume delete", "DELETE", f"{base}/volumes/{vid}", token=t, expect=202)
    c("snapshot volume observed gone", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "gone"}, expect=200)


def run(server: Server) -> Recorder:
    with server.http() as client:
        rec = Recorder(client)
        rec.normaliser.literal(server.base_url, "<base-url>")
        rec.normaliser.literal(f"127.0.0.1:{server.port}", "<listen>")
        admin = server.admin_token()
        played = Scenario(rec, server, admin)
        played.play()
        neutron_conformance(played)
        nova_lifecycle(played)
        key_manager(played)
        compute_microversions(played)
        block_storage(played)
        volume_agent(played)
        volume_transfers(played)
        volume_attachments(played)
        volume_snapshots(played)
        return rec


class Scenario:
    def __init__(self, rec: Recorder, server: Server, admin: str) -> None:
        self.rec, self.server, self.admin = rec, server, admin
        self.call = rec.call

    def play(self) -> None:
        self.discovery()
        self.identity()
        self.image()
        self.network()
        self.compute()
        self.internal_and_metadata()
        self.nova_features()
        self.teardown()
        self.image_conformance()
        self.every_route_refuses()
        self.keystone_admin_apis()
        self.nova_details()

    # ---- version discovery ------------------------------------------------------------------

    def discovery(self) -> None:
        c = self.call
        c("root", "GET", "/", expect=200)
        c("root head", "HEAD", "/", expect=200)
        c("root post", "POST", "/", json={}, expect=405)
        c("unknown service", "GET", "/nothing-here", expect=404)
        for prefix in ("/identity/", "/identity/v3/", "/identity/v3", "/image/", "/image/v2/", "/image/v2",
                       "/compute/", "/compute/v2/", "/compute/v2", "/compute/v2.1/", "/compute/v2.1",
                       "/network/", "/network/v2.0/", "/network/v2.0"):
            c(f"versions {prefix}", "GET", prefix, expect=(200, 300))
            c(f"versions {prefix} delete", "DELETE", prefix, expect=405)
        # What no route serves, and tokens that are not tokens, answered in each service's own format.
        for prefix in ("/identity/v3", "/image/v2", "/compute/v2.1", "/network/v2.0", "/internal/v1"):
            c(f"unknown path {prefix}", "GET", f"{prefix}/no-such-thing", token=self.admin, expect=404)
            c(f"garbage token {prefix}", "GET", f"{prefix}/no-such-thing", token="garbage", expect=401)
            c(f"no token {prefix}", "GET", f"{prefix}/no-such-thing", expect=(401, 404))
        for header in ({"OpenStack-API-Version": "compute latest"}, {"X-OpenStack-Nova-API-Version": "2.1"},
                       {"OpenStack-API-Version": "compute 2.0"}, {"OpenStack-API-Version": "compute two"}):
            c(f"compute microversion {header}", "GET", "/compute/v2.1/flavors", token=self.admin, headers=header)

    # ---- identity ---------------------------------------------------------------------------

    def identity(self) -> None:
        c, a = self.call, self.admin
        base = "/identity/v3"
        # Projects and users: alice and bob in projects of their own, carol without a role.
        self.project_a = c("project create", "POST", f"{base}/projects", token=a,
                           json={"project": {"name": "golden-a", "description": "A"}}, expect=201).json()["project"]
        self.project_b = c("project create b", "POST", f"{base}/projects", token=a,
                           json={"project": {"name": "golden-b"}}, expect=201).json()["project"]
        c("project create duplicate", "POST", f"{base}/projects", token=a, json={"project": {"name": "golden-a"}},
          expect=409)
        c("project create bad body", "POST", f"{base}/projects", token=a, json={"project": {"name": 5}}, expect=400)
        c("project create invalid json", "POST", f"{base}/projects", token=a, content=BAD_JSON,
          headers={"Content-Type": "application/json"}, expect=400)
        c("project create no token", "POST", f"{base}/projects", json={"project": {"name": "x"}}, expect=401)
        c("project list", "GET", f"{base}/projects?name=golden-a", token=a, expect=200)
        c("project list no token", "GET", f"{base}/projects", expect=401)
        c("project show", "GET", f"{base}/projects/{self.project_a['id']}", token=a, expect=200)
        c("project show missing", "GET", f"{base}/projects/{MISSING_HEX}", token=a, expect=404)
        c("project update", "PATCH", f"{base}/projects/{self.project_a['id']}", token=a,
          json={"project": {"description": "project A"}}, expect=200)
        c("project update missing", "PATCH", f"{base}/projects/{MISSING_HEX}", token=a,
          json={"project": {"description": "x"}}, expect=404)
        c("project put", "PUT", f"{base}/projects/{self.project_a['id']}", token=a, json={}, expect=405)

        self.password = "golden-password-1"
        users = {}
        for name in ("alice", "bob", "carol"):
            users[name] = c(f"user create {name}", "POST", f"{base}/users", token=a,
                            json={"user": {"name": name, "password": self.password,
                                           "default_project_id": self.project_a["id"]}},
                            expect=201).json()["user"]
        self.alice, self.bob, self.carol = users["alice"], users["bob"], users["carol"]
        c("user create bad body", "POST", f"{base}/users", token=a, json={"user": {}}, expect=400)
        c("user create duplicate", "POST", f"{base}/users", token=a,
          json={"user": {"name": "alice", "password": self.password}}, expect=409)
        c("user list", "GET", f"{base}/users?name=alice", token=a, expect=200)
        c("user show", "GET", f"{base}/users/{self.alice['id']}", token=a, expect=200)
        c("user show missing", "GET", f"{base}/users/{MISSING_HEX}", token=a, expect=404)
        c("user update", "PATCH", f"{base}/users/{self.carol['id']}", token=a,
          json={"user": {"description": "no role"}}, expect=200)
        c("user update bad body", "PATCH", f"{base}/users/{self.carol['id']}", token=a,
          json={"user": {"enabled": "yes"}}, expect=400)

        roles = c("role list", "GET", f"{base}/roles", token=a, expect=200).json()["roles"]
        self.role = {r["name"]: r["id"] for r in roles}
        c("role list as nobody", "GET", f"{base}/roles", expect=401)
        member = self.role["member"]
        c("grant alice member on a", "PUT",
          f"{base}/projects/{self.project_a['id']}/users/{self.alice['id']}/roles/{member}", token=a, expect=204)
        c("grant bob member on b", "PUT",
          f"{base}/projects/{self.project_b['id']}/users/{self.bob['id']}/roles/{member}", token=a, expect=204)
        c("grant missing role", "PUT",
          f"{base}/projects/{self.project_a['id']}/users/{self.alice['id']}/roles/{MISSING_HEX}", token=a,
          expect=404)
        c("grant check", "GET",
          f"{base}/projects/{self.project_a['id']}/users/{self.alice['id']}/roles/{member}", token=a, expect=204)
        c("grant check head", "HEAD",
          f"{base}/projects/{self.project_a['id']}/users/{self.alice['id']}/roles/{member}", token=a, expect=204)
        c("grant check absent", "GET",
          f"{base}/projects/{self.project_a['id']}/users/{self.carol['id']}/roles/{member}", token=a, expect=404)
        c("grant check absent head", "HEAD",
          f"{base}/projects/{self.project_a['id']}/users/{self.carol['id']}/roles/{member}", token=a, expect=404)
        c("grants list", "GET", f"{base}/projects/{self.project_a['id']}/users/{self.alice['id']}/roles",
          token=a, expect=200)
        c("grants list bad target", "GET", f"{base}/things/{self.project_a['id']}/users/{self.alice['id']}/roles",
          token=a, expect=404)
        c("role assignments", "GET", f"{base}/role_assignments?scope.project.id={self.project_a['id']}",
          token=a, expect=200)
        c("role assignments no token", "GET", f"{base}/role_assignments", expect=401)

        # Tokens: alice's, bob's; and what one can do with them.
        issued = c("token issue", "POST", f"{base}/auth/tokens", json=password_body("alice", self.password, "golden-a"),
                   expect=201)
        self.alice_token = issued.headers["X-Subject-Token"]
        self.rec.normaliser.literal(self.alice_token, "<token-alice>")
        c("token issue wrong password", "POST", f"{base}/auth/tokens",
          json=password_body("bob", "wrong-password-9", "golden-b"), expect=401)
        c("token issue bad body", "POST", f"{base}/auth/tokens", json={"auth": {}}, expect=400)
        self.bob_token = c("token issue bob", "POST", f"{base}/auth/tokens",
                           json=password_body("bob", self.password, "golden-b"), expect=201).headers["X-Subject-Token"]
        self.rec.normaliser.literal(self.bob_token, "<token-bob>")
        self.carol_token = c("token issue carol unscoped", "POST", f"{base}/auth/tokens",
                             json=password_body("carol", self.password), expect=201).headers["X-Subject-Token"]
        self.rec.normaliser.literal(self.carol_token, "<token-carol>")
        t, bob = self.alice_token, self.bob_token
        c("token validate", "GET", f"{base}/auth/tokens", token=t, headers={"X-Subject-Token": t}, expect=200)
        c("token validate head", "HEAD", f"{base}/auth/tokens", token=t, headers={"X-Subject-Token": t}, expect=200)
        c("token validate garbage", "GET", f"{base}/auth/tokens", token=t, headers={"X-Subject-Token": "garbage"},
          expect=403)
        c("token validate garbage head", "HEAD", f"{base}/auth/tokens", token=t,
          headers={"X-Subject-Token": "garbage"}, expect=403)
        c("auth catalog", "GET", f"{base}/auth/catalog", token=t, expect=200)
        c("auth catalog no token", "GET", f"{base}/auth/catalog", expect=401)
        c("auth projects", "GET", f"{base}/auth/projects", token=t, expect=200)
        c("auth projects no token", "GET", f"{base}/auth/projects", expect=401)
        c("auth domains", "GET", f"{base}/auth/domains", token=t, expect=200)
        c("auth domains bad token", "GET", f"{base}/auth/domains", token="garbage", expect=401)
        c("auth system", "GET", f"{base}/auth/system", token=t, expect=200)
        c("auth system no token", "GET", f"{base}/auth/system", expect=401)
        c("user projects", "GET", f"{base}/users/{self.alice['id']}/projects", token=t, expect=200)
        c("user projects of another", "GET", f"{base}/users/{self.bob['id']}/projects", token=t, expect=(403, 404))
        c("users as member", "GET", f"{base}/users", token=bob, expect=403)

        # Domains.
        domain = c("domain create", "POST", f"{base}/domains", token=a,
                   json={"domain": {"name": "golden-domain"}}, expect=201).json()["domain"]
        c("domain create as member", "POST", f"{base}/domains", token=t, json={"domain": {"name": "x"}}, expect=403)
        c("domain list", "GET", f"{base}/domains", token=a, expect=200)
        c("domain list no token", "GET", f"{base}/domains", expect=401)
        c("domain show", "GET", f"{base}/domains/{domain['id']}", token=a, expect=200)
        c("domain show missing", "GET", f"{base}/domains/{MISSING_HEX}", token=a, expect=404)
        c("domain delete enabled", "DELETE", f"{base}/domains/{domain['id']}", token=a, expect=(400, 403, 409))
        c("domain disable", "PATCH", f"{base}/domains/{domain['id']}", token=a,
          json={"domain": {"enabled": False}}, expect=200)
        c("domain update missing", "PATCH", f"{base}/domains/{MISSING_HEX}", token=a,
          json={"domain": {"enabled": False}}, expect=404)
        c("domain delete", "DELETE", f"{base}/domains/{domain['id']}", token=a, expect=204)
        c("domain delete again", "DELETE", f"{base}/domains/{domain['id']}", token=a, expect=404)

        # Groups and membership.
        group = c("group create", "POST", f"{base}/groups", token=a, json={"group": {"name": "golden-group"}},
                  expect=201).json()["group"]
        c("group create bad body", "POST", f"{base}/groups", token=a, json={"group": {"name": ""}}, expect=400)
        c("group list", "GET", f"{base}/groups", token=a, expect=200)
        c("group list as member", "GET", f"{base}/groups", token=t, expect=403)
        c("group show", "GET", f"{base}/groups/{group['id']}", token=a, expect=200)
        c("group show missing", "GET", f"{base}/groups/{MISSING_HEX}", token=a, expect=404)
        c("group update", "PATCH", f"{base}/groups/{group['id']}", token=a,
          json={"group": {"description": "golden"}}, expect=200)
        c("group update missing", "PATCH", f"{base}/groups/{MISSING_HEX}", token=a,
          json={"group": {"description": "x"}}, expect=404)
        members = f"{base}/groups/{group['id']}/users"
        c("group add member", "PUT", f"{members}/{self.carol['id']}", token=a, expect=204)
        c("group add missing member", "PUT", f"{members}/{MISSING_HEX}", token=a, expect=404)
        c("group check member", "GET", f"{members}/{self.carol['id']}", token=a, expect=204)
        c("group check member head", "HEAD", f"{members}/{self.carol['id']}", token=a, expect=204)
        c("group check non-member", "GET", f"{members}/{self.bob['id']}", token=a, expect=404)
        c("group check non-member head", "HEAD", f"{members}/{self.bob['id']}", token=a, expect=404)
        c("group members", "GET", members, token=a, expect=200)
        c("group members missing", "GET", f"{base}/groups/{MISSING_HEX}/users", token=a, expect=404)
        c("user groups", "GET", f"{base}/users/{self.carol['id']}/groups", token=a, expect=200)
        c("user groups missing", "GET", f"{base}/users/{MISSING_HEX}/groups", token=a, expect=404)
        c("group grant", "PUT", f"{base}/projects/{self.project_b['id']}/groups/{group['id']}/roles/{member}",
          token=a, expect=204)
        c("group grant revoke", "DELETE",
          f"{base}/projects/{self.project_b['id']}/groups/{group['id']}/roles/{member}", token=a, expect=204)
        c("group grant revoke again", "DELETE",
          f"{base}/projects/{self.project_b['id']}/groups/{group['id']}/roles/{member}", token=a, expect=404)
        c("group remove member", "DELETE", f"{members}/{self.carol['id']}", token=a, expect=204)
        c("group remove member again", "DELETE", f"{members}/{self.carol['id']}", token=a, expect=404)
        c("group delete", "DELETE", f"{base}/groups/{group['id']}", token=a, expect=204)
        c("group delete again", "DELETE", f"{base}/groups/{group['id']}", token=a, expect=404)

        # Roles.
        role = c("role create", "POST", f"{base}/roles", token=a, json={"role": {"name": "golden-role"}},
                 expect=201).json()["role"]
        c("role create duplicate", "POST", f"{base}/roles", token=a, json={"role": {"name": "golden-role"}},
          expect=409)
        c("role show", "GET", f"{base}/roles/{role['id']}", token=a, expect=200)
        c("role show missing", "GET", f"{base}/roles/{MISSING_HEX}", token=a, expect=404)
        c("role update", "PATCH", f"{base}/roles/{role['id']}", token=a,
          json={"role": {"description": "golden"}}, expect=200)
        c("role update missing", "PATCH", f"{base}/roles/{MISSING_HEX}", token=a,
          json={"role": {"description": "x"}}, expect=404)
        system = f"{base}/system/users/{self.carol['id']}/roles"
        c("system grant", "PUT", f"{system}/{role['id']}", token=a, expect=204)
        c("system grant missing role", "PUT", f"{system}/{MISSING_HEX}", token=a, expect=404)
        c("system grants", "GET", system, token=a, expect=200)
        c("system grants as member", "GET", system, token=t, expect=403)
        c("system grant check", "GET", f"{system}/{role['id']}", token=a, expect=204)
        c("system grant check head", "HEAD", f"{system}/{role['id']}", token=a, expect=204)
        c("system grant check absent", "GET", f"{system}/{member}", token=a, expect=404)
        c("system grant check absent head", "HEAD", f"{system}/{member}", token=a, expect=404)
        c("system grant revoke", "DELETE", f"{system}/{role['id']}", token=a, expect=204)
        c("system grant revoke again", "DELETE", f"{system}/{role['id']}", token=a, expect=404)
        c("role delete", "DELETE", f"{base}/roles/{role['id']}", token=a, expect=204)
        c("role delete again", "DELETE", f"{base}/roles/{role['id']}", token=a, expect=404)

        # Catalog: regions, services, endpoints.
        c("region create", "POST", f"{base}/regions", token=a,
          json={"region": {"id": "GoldenRegion", "description": "golden"}}, expect=201)
        c("region create duplicate", "POST", f"{base}/regions", token=a, json={"region": {"id": "GoldenRegion"}},
          expect=409)
        c("region list", "GET", f"{base}/regions", token=a, expect=200)
        c("region list no token", "GET", f"{base}/regions", expect=401)
        c("region show", "GET", f"{base}/regions/GoldenRegion", token=a, expect=200)
        c("region show missing", "GET", f"{base}/regions/NoSuchRegion", token=a, expect=404)
        c("region update", "PATCH", f"{base}/regions/GoldenRegion", token=a,
          json={"region": {"description": "golden!"}}, expect=200)
        c("region update missing", "PATCH", f"{base}/regions/NoSuchRegion", token=a,
          json={"region": {"description": "x"}}, expect=404)
        service = c("service create", "POST", f"{base}/services", token=a,
                    json={"service": {"type": "golden", "name": "golden"}}, expect=201).json()["service"]
        c("service create bad body", "POST", f"{base}/services", token=a, json={"service": {}}, expect=400)
        c("service list", "GET", f"{base}/services?type=golden", token=a, expect=200)
        c("service list no token", "GET", f"{base}/services", expect=401)
        c("service show", "GET", f"{base}/services/{service['id']}", token=a, expect=200)
        c("service show missing", "GET", f"{base}/services/{MISSING_HEX}", token=a, expect=404)
        c("service update", "PATCH", f"{base}/services/{service['id']}", token=a,
          json={"service": {"description": "golden"}}, expect=200)
        c("service update missing", "PATCH", f"{base}/services/{MISSING_HEX}", token=a,
          json={"service": {"description": "x"}}, expect=404)
        endpoint = c("endpoint create", "POST", f"{base}/endpoints", token=a,
                     json={"endpoint": {"service_id": service["id"], "interface": "public",
                                        "url": "https://golden.example/v1", "region_id": "GoldenRegion"}},
                     expect=201).json()["endpoint"]
        c("endpoint create bad interface", "POST", f"{base}/endpoints", token=a,
          json={"endpoint": {"service_id": service["id"], "interface": "secret", "url": "https://x"}}, expect=400)
        c("endpoint list", "GET", f"{base}/endpoints?service_id={service['id']}", token=a, expect=200)
        c("endpoint list no token", "GET", f"{base}/endpoints", expect=401)
        c("endpoint show", "GET", f"{base}/endpoints/{endpoint['id']}", token=a, expect=200)
        c("endpoint show missing", "GET", f"{base}/endpoints/{MISSING_HEX}", token=a, expect=404)
        c("endpoint update", "PATCH", f"{base}/endpoints/{endpoint['id']}", token=a,
          json={"endpoint": {"url": "https://golden.example/v2"}}, expect=200)
        c("endpoint update missing", "PATCH", f"{base}/endpoints/{MISSING_HEX}", token=a,
          json={"endpoint": {"url": "https://x"}}, expect=404)
        c("endpoint delete", "DELETE", f"{base}/endpoints/{endpoint['id']}", token=a, expect=204)
        c("endpoint delete again", "DELETE", f"{base}/endpoints/{endpoint['id']}", token=a, expect=404)
        c("service delete", "DELETE", f"{base}/services/{service['id']}", token=a, expect=204)
        c("service delete again", "DELETE", f"{base}/services/{service['id']}", token=a, expect=404)
        c("region delete", "DELETE", f"{base}/regions/GoldenRegion", token=a, expect=204)
        c("region delete again", "DELETE", f"{base}/regions/GoldenRegion", token=a, expect=404)

        # Credentials: application credentials, the credential store, EC2.
        apps = f"{base}/users/{self.alice['id']}/application_credentials"
        app_cred = c("app credential create", "POST", apps, token=t,
                     json={"application_credential": {"name": "golden-app", "secret": "golden-app-secret-1"}},
                     expect=201).json()["application_credential"]
        c("app credential create duplicate", "POST", apps, token=t,
          json={"application_credential": {"name": "golden-app"}}, expect=409)
        c("app credential list", "GET", apps, token=t, expect=200)
        c("app credential list of another", "GET", f"{base}/users/{self.bob['id']}/application_credentials",
          token=t, expect=(403, 404))
        c("app credential show", "GET", f"{apps}/{app_cred['id']}", token=t, expect=200)
        c("app credential show missing", "GET", f"{apps}/{MISSING_HEX}", token=t, expect=404)
        c("app credential token", "POST", f"{base}/auth/tokens", json={"auth": {"identity": {
            "methods": ["application_credential"], "application_credential": {
                "id": app_cred["id"], "secret": "golden-app-secret-1"}}}}, expect=201)
        c("app credential delete", "DELETE", f"{apps}/{app_cred['id']}", token=t, expect=204)
        c("app credential delete again", "DELETE", f"{apps}/{app_cred['id']}", token=t, expect=404)

        cred = c("credential create", "POST", f"{base}/credentials", token=t,
                 json={"credential": {"type": "golden", "user_id": self.alice["id"],
                                      "project_id": self.project_a["id"], "blob": "golden-blob"}},
                 expect=201).json()["credential"]
        c("credential create bad body", "POST", f"{base}/credentials", token=t,
          json={"credential": {"type": "golden"}}, expect=400)
        c("credential list", "GET", f"{base}/credentials", token=t, expect=200)
        c("credential list no token", "GET", f"{base}/credentials", expect=401)
        c("credential show", "GET", f"{base}/credentials/{cred['id']}", token=t, expect=200)
        c("credential show as another", "GET", f"{base}/credentials/{cred['id']}", token=bob, expect=404)
        c("credential update", "PATCH", f"{base}/credentials/{cred['id']}", token=t,
          json={"credential": {"blob": "golden-blob-2"}}, expect=200)
        c("credential update missing", "PATCH", f"{base}/credentials/{MISSING_HEX}", token=t,
          json={"credential": {"blob": "x"}}, expect=404)
        c("credential delete", "DELETE", f"{base}/credentials/{cred['id']}", token=t, expect=204)
        c("credential delete again", "DELETE", f"{base}/credentials/{cred['id']}", token=t, expect=404)

        ec2 = f"{base}/users/{self.alice['id']}/credentials/OS-EC2"
        made = c("ec2 create", "POST", ec2, token=t, json={"tenant_id": self.project_a["id"]},
                 expect=201).json()["credential"]
        c("ec2 create bad body", "POST", ec2, token=t, json={"tenant": "x"}, expect=400)
        c("ec2 list", "GET", ec2, token=t, expect=200)
        c("ec2 list of another", "GET", f"{base}/users/{self.bob['id']}/credentials/OS-EC2", token=t,
          expect=(403, 404))
        c("ec2 show", "GET", f"{ec2}/{made['access']}", token=t, expect=200)
        c("ec2 show missing", "GET", f"{ec2}/{MISSING_HEX}", token=t, expect=404)
        c("ec2 delete", "DELETE", f"{ec2}/{made['access']}", token=t, expect=204)
        c("ec2 delete again", "DELETE", f"{ec2}/{made['access']}", token=t, expect=404)

        # Passwords, users and projects going away, tokens revoked.
        carol = c("token issue carol again", "POST", f"{base}/auth/tokens", json=password_body("carol", self.password),
                  expect=201).headers["X-Subject-Token"]
        self.rec.normaliser.literal(carol, "<token-carol-2>")
        c("password change", "POST", f"{base}/users/{self.carol['id']}/password", token=carol,
          json={"user": {"original_password": self.password, "password": "golden-password-2"}}, expect=204)
        c("password change wrong original", "POST", f"{base}/users/{self.carol['id']}/password",
          json={"user": {"original_password": "wrong-password-1", "password": "golden-password-3"}}, expect=401)
        throwaway = c("user create dave", "POST", f"{base}/users", token=a,
                      json={"user": {"name": "dave", "password": self.password}}, expect=201).json()["user"]
        c("user delete", "DELETE", f"{base}/users/{throwaway['id']}", token=a, expect=204)
        c("user delete again", "DELETE", f"{base}/users/{throwaway['id']}", token=a, expect=404)
        gone = c("project create c", "POST", f"{base}/projects", token=a,
                 json={"project": {"name": "golden-c"}}, expect=201).json()["project"]
        c("project delete", "DELETE", f"{base}/projects/{gone['id']}", token=a, expect=204)
        c("project delete again", "DELETE", f"{base}/projects/{gone['id']}", token=a, expect=404)
        spare = c("token issue spare", "POST", f"{base}/auth/tokens",
                  json=password_body("alice", self.password, "golden-a"), expect=201).headers["X-Subject-Token"]
        self.rec.normaliser.literal(spare, "<token-spare>")
        c("token revoke", "DELETE", f"{base}/auth/tokens", token=t, headers={"X-Subject-Token": spare}, expect=204)
        c("token revoke again", "DELETE", f"{base}/auth/tokens", token=t, headers={"X-Subject-Token": spare},
          expect=403)
        c("token revoked is refused", "GET", f"{base}/auth/catalog", token=spare, expect=401)

    # ---- image ------------------------------------------------------------------------------

    def image(self) -> None:
        c, a, t, bob = self.call, self.admin, self.alice_token, self.bob_token
        base = "/image/v2"
        data = gzip.decompress(IMAGE.read_bytes())
        made = c("image create", "POST", f"{base}/images", token=t,
                 json={"name": "golden-image", "disk_format": "qcow2", "container_format": "bare",
                       "visibility": "shared", "tags": ["golden"]}, expect=201).json()
        self.image_id = made["id"]
        c("image create bad body", "POST", f"{base}/images", token=t, json={"disk_format": "floppy"}, expect=400)
        c("image create no token", "POST", f"{base}/images", json={"name": "x"}, expect=401)
        c("image upload", "PUT", f"{base}/images/{self.image_id}/file", token=t, content=data,
          headers={"Content-Type": "application/octet-stream"}, expect=204)
        c("image upload again", "PUT", f"{base}/images/{self.image_id}/file", token=t, content=data,
          headers={"Content-Type": "application/octet-stream"}, expect=409)
        c("image list", "GET", f"{base}/images?name=golden-image", token=t, expect=200)
        c("image list bad filter", "GET", f"{base}/images?limit=nope", token=t, expect=400)
        c("image show", "GET", f"{base}/images/{self.image_id}", token=t, expect=200)
        c("image show as another", "GET", f"{base}/images/{self.image_id}", token=bob, expect=404)
        c("image update", "PATCH", f"{base}/images/{self.image_id}", token=t,
          headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
          content=b'[{"op": "add", "path": "/golden_property", "value": "yes"}]', expect=200)
        c("image update wrong media type", "PATCH", f"{base}/images/{self.image_id}", token=t,
          json=[{"op": "add", "path": "/x", "value": "y"}], expect=415)
        c("image download", "GET", f"{base}/images/{self.image_id}/file", token=t, expect=200)
        c("image download missing", "GET", f"{base}/images/{MISSING}/file", token=t, expect=404)
        c("image tag add", "PUT", f"{base}/images/{self.image_id}/tags/extra", token=t, expect=204)
        c("image tag add missing image", "PUT", f"{base}/images/{MISSING}/tags/extra", token=t, expect=404)
        c("image tag delete", "DELETE", f"{base}/images/{self.image_id}/tags/extra", token=t, expect=204)
        c("image tag delete again", "DELETE", f"{base}/images/{self.image_id}/tags/extra", token=t, expect=404)
        members = f"{base}/images/{self.image_id}/members"
        c("image member add", "POST", members, token=t, json={"member": self.project_b["id"]}, expect=200)
        c("image member add again", "POST", members, token=t, json={"member": self.project_b["id"]}, expect=409)
        c("image member list", "GET", members, token=t, expect=200)
        c("image member list missing", "GET", f"{base}/images/{MISSING}/members", token=t, expect=404)
        c("image member show", "GET", f"{members}/{self.project_b['id']}", token=t, expect=200)
        c("image member show missing", "GET", f"{members}/{MISSING_HEX}", token=t, expect=404)
        c("image member accept", "PUT", f"{members}/{self.project_b['id']}", token=bob,
          json={"status": "accepted"}, expect=200)
        c("image member accept bad", "PUT", f"{members}/{self.project_b['id']}", token=bob,
          json={"status": "maybe"}, expect=400)
        c("image seen by member", "GET", f"{base}/images/{self.image_id}", token=bob, expect=200)
        c("image member delete", "DELETE", f"{members}/{self.project_b['id']}", token=t, expect=204)
        c("image member delete again", "DELETE", f"{members}/{self.project_b['id']}", token=t, expect=404)
        c("image deactivate as another", "POST", f"{base}/images/{self.image_id}/actions/deactivate", token=bob,
          expect=404)
        c("image deactivate", "POST", f"{base}/images/{self.image_id}/actions/deactivate", token=t, expect=204)
        c("image download deactivated", "GET", f"{base}/images/{self.image_id}/file", token=t, expect=403)
        c("image reactivate", "POST", f"{base}/images/{self.image_id}/actions/reactivate", token=t, expect=204)
        c("image reactivate missing", "POST", f"{base}/images/{MISSING}/actions/reactivate", token=a, expect=404)
        c("image usage", "GET", f"{base}/info/usage", token=t, expect=200)
        c("image usage no token", "GET", f"{base}/info/usage", expect=401)
        c("image schema", "GET", f"{base}/schemas/image", token=t, expect=200)
        c("image schema no token", "GET", f"{base}/schemas/image", expect=401)
        c("images schema", "GET", f"{base}/schemas/images", token=t, expect=200)
        c("images schema no token", "GET", f"{base}/schemas/images", expect=401)
        spare = c("image create spare", "POST", f"{base}/images", token=t, json={"name": "golden-spare"},
                  expect=201).json()
        c("image delete", "DELETE", f"{base}/images/{spare['id']}", token=t, expect=204)
        c("image delete again", "DELETE", f"{base}/images/{spare['id']}", token=t, expect=404)

    # ---- network ----------------------------------------------------------------------------

    def network(self) -> None:
        c, a, t, bob = self.call, self.admin, self.alice_token, self.bob_token
        base = "/network/v2.0"
        pa = self.project_a["id"]
        # The scenario's host: registered with `andromede host add`, its capacity reported by the scenario.
        config = yaml.safe_load(host_command(self.server, "add", HOST).stdout)
        self.host_token = self._app_credential_token(config)
        self.rec.normaliser.literal(self.host_token, "<token-host>")
        c("host heartbeat", "POST", f"/internal/v1/hosts/{HOST}", token=self.host_token, json=CAPACITY, expect=200)
        c("host network", "GET", f"/internal/v1/hosts/{HOST}/network", token=self.host_token, expect=200)
        net = c("network create", "POST", f"{base}/networks", token=t,
                json={"network": {"name": "golden-net"}}, expect=201).json()["network"]
        self.network_id = net["id"]
        c("network create bad body", "POST", f"{base}/networks", token=t, json={"network": {"admin_state_up": 3}},
          expect=400)
        c("network list", "GET", f"{base}/networks?name=golden-net", token=t, expect=200)
        c("network list no token", "GET", f"{base}/networks", expect=401)
        c("network show", "GET", f"{base}/networks/{net['id']}", token=t, expect=200)
        c("network show as another", "GET", f"{base}/networks/{net['id']}", token=bob, expect=404)
        c("network update", "PUT", f"{base}/networks/{net['id']}", token=t,
          json={"network": {"description": "golden"}}, expect=200)
        c("network update shared as member", "PUT", f"{base}/networks/{net['id']}", token=t,
          json={"network": {"shared": True}}, expect=403)
        subnet = c("subnet create", "POST", f"{base}/subnets", token=t,
                   json={"subnet": {"name": "golden-subnet", "network_id": net["id"], "ip_version": 4,
                                    "cidr": "10.77.0.0/24"}}, expect=201).json()["subnet"]
        self.subnet_id = subnet["id"]
        c("subnet create overlapping", "POST", f"{base}/subnets", token=t,
          json={"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.77.0.0/25"}}, expect=(400, 409))
        c("subnet list", "GET", f"{base}/subnets?network_id={net['id']}", token=t, expect=200)
        c("subnet list no token", "GET", f"{base}/subnets", expect=401)
        c("subnet show", "GET", f"{base}/subnets/{subnet['id']}", token=t, expect=200)
        c("subnet show missing", "GET", f"{base}/subnets/{MISSING}", token=t, expect=404)
        c("subnet update", "PUT", f"{base}/subnets/{subnet['id']}", token=t,
          json={"subnet": {"description": "golden"}}, expect=200)
        c("subnet update bad body", "PUT", f"{base}/subnets/{subnet['id']}", token=t,
          json={"subnet": {"cidr": "10.0.0.0/8"}}, expect=400)
        port = c("port create", "POST", f"{base}/ports", token=t,
                 json={"port": {"name": "golden-port", "network_id": net["id"],
                                "fixed_ips": [{"ip_address": "10.77.0.50"}]}}, expect=201).json()["port"]
        c("port create address taken", "POST", f"{base}/ports", token=t,
          json={"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.77.0.50"}]}}, expect=409)
        c("port list", "GET", f"{base}/ports?network_id={net['id']}", token=t, expect=200)
        c("port list no token", "GET", f"{base}/ports", expect=401)
        c("port show", "GET", f"{base}/ports/{port['id']}", token=t, expect=200)
        c("port show as another", "GET", f"{base}/ports/{port['id']}", token=bob, expect=404)
        c("port update", "PUT", f"{base}/ports/{port['id']}", token=t,
          json={"port": {"description": "golden"}}, expect=200)
        c("port update bad body", "PUT", f"{base}/ports/{port['id']}", token=t,
          json={"port": {"fixed_ips": "nope"}}, expect=400)
        self.port_id = port["id"]
        for collection, rid in (("networks", net["id"]), ("subnets", subnet["id"]), ("ports", port["id"])):
            self._tags(collection, rid)

        # Security groups and rules.
        sg = c("security group create", "POST", f"{base}/security-groups", token=t,
               json={"security_group": {"name": "golden-sg"}}, expect=201).json()["security_group"]
        self.sg_id = sg["id"]
        c("security group create bad body", "POST", f"{base}/security-groups", token=t,
          json={"security_group": {"name": 7}}, expect=400)
        c("security group list", "GET", f"{base}/security-groups?name=golden-sg", token=t, expect=200)
        c("security group list no token", "GET", f"{base}/security-groups", expect=401)
        c("security group show", "GET", f"{base}/security-groups/{sg['id']}", token=t, expect=200)
        c("security group show as another", "GET", f"{base}/security-groups/{sg['id']}", token=bob, expect=404)
        c("security group update", "PUT", f"{base}/security-groups/{sg['id']}", token=t,
          json={"security_group": {"description": "golden"}}, expect=200)
        c("security group update missing", "PUT", f"{base}/security-groups/{MISSING}", token=t,
          json={"security_group": {"description": "x"}}, expect=404)
        rule = c("security group rule create", "POST", f"{base}/security-group-rules", token=t,
                 json={"security_group_rule": {"security_group_id": sg["id"], "direction": "ingress",
                                               "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
                                               "port_range_max": 22, "remote_ip_prefix": "192.0.2.0/24"}},
                 expect=201).json()["security_group_rule"]
        c("security group rule create duplicate", "POST", f"{base}/security-group-rules", token=t,
          json={"security_group_rule": {"security_group_id": sg["id"], "direction": "ingress",
                                        "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
                                        "port_range_max": 22, "remote_ip_prefix": "192.0.2.0/24"}}, expect=409)
        c("security group rule list", "GET", f"{base}/security-group-rules?security_group_id={sg['id']}", token=t,
          expect=200)
        c("security group rule list no token", "GET", f"{base}/security-group-rules", expect=401)
        c("security group rule show", "GET", f"{base}/security-group-rules/{rule['id']}", token=t, expect=200)
        c("security group rule show missing", "GET", f"{base}/security-group-rules/{MISSING}", token=t, expect=404)
        c("security group rule update", "PUT", f"{base}/security-group-rules/{rule['id']}", token=t,
          json={"security_group_rule": {"description": "golden"}}, expect=(200, 400))
        c("security group rule update missing", "PUT", f"{base}/security-group-rules/{MISSING}", token=t,
          json={"security_group_rule": {"description": "x"}}, expect=(400, 404))
        c("security group rule delete", "DELETE", f"{base}/security-group-rules/{rule['id']}", token=t, expect=204)
        c("security group rule delete again", "DELETE", f"{base}/security-group-rules/{rule['id']}", token=t,
          expect=404)
        self._tags("security-groups", sg["id"])

        # External network, router, floating IP (the admin makes the external network).
        ext = c("external network create", "POST", f"{base}/networks", token=a,
                json={"network": {"name": "golden-public", "router:external": True,
                                  "project_id": self.project_b["id"]}}, expect=201).json()["network"]
        self.ext_id = ext["id"]
        c("external network create as member", "POST", f"{base}/networks", token=t,
          json={"network": {"name": "x", "router:external": True}}, expect=403)
        c("external subnet create", "POST", f"{base}/subnets", token=a,
          json={"subnet": {"name": "golden-public-subnet", "network_id": ext["id"], "ip_version": 4,
                           "cidr": "198.51.100.0/24", "project_id": self.project_b["id"]}}, expect=201)
        router = c("router create", "POST", f"{base}/routers", token=t,
                   json={"router": {"name": "golden-router",
                                    "external_gateway_info": {"network_id": ext["id"]}}}, expect=201).json()["router"]
        self.router_id = router["id"]
        c("router create bad body", "POST", f"{base}/routers", token=t, json={"router": {"name": []}}, expect=400)
        c("router list", "GET", f"{base}/routers?name=golden-router", token=t, expect=200)
        c("router list no token", "GET", f"{base}/routers", expect=401)
        c("router show", "GET", f"{base}/routers/{router['id']}", token=t, expect=200)
        c("router show as another", "GET", f"{base}/routers/{router['id']}", token=bob, expect=404)
        c("router update", "PUT", f"{base}/routers/{router['id']}", token=t,
          json={"router": {"description": "golden"}}, expect=200)
        c("router update missing", "PUT", f"{base}/routers/{MISSING}", token=t,
          json={"router": {"description": "x"}}, expect=404)
        r = f"{base}/routers/{router['id']}"
        c("router add interface", "PUT", f"{r}/add_router_interface", token=t, json={"subnet_id": subnet["id"]},
          expect=200)
        c("router add interface again", "PUT", f"{r}/add_router_interface", token=t,
          json={"subnet_id": subnet["id"]}, expect=(400, 409))
        routes = {"router": {"routes": [{"destination": "203.0.113.0/24", "nexthop": "10.77.0.9"}]}}
        c("router add extra routes", "PUT", f"{r}/add_extraroutes", token=t, json=routes, expect=200)
        c("router add extra routes bad", "PUT", f"{r}/add_extraroutes", token=t,
          json={"router": {"routes": [{"destination": "nope"}]}}, expect=400)
        c("router remove extra routes", "PUT", f"{r}/remove_extraroutes", token=t, json=routes, expect=200)
        c("router remove extra routes bad", "PUT", f"{r}/remove_extraroutes", token=t, json={"router": 1},
          expect=400)
        c("router l3 agents", "GET", f"{r}/l3-agents", token=a, expect=200)
        c("router l3 agents as member", "GET", f"{r}/l3-agents", token=t, expect=403)
        fip = c("floating ip create", "POST", f"{base}/floatingips", token=t,
                json={"floatingip": {"floating_network_id": ext["id"], "port_id": port["id"]}},
                expect=201).json()["floatingip"]
        c("floating ip create bad body", "POST", f"{base}/floatingips", token=t,
          json={"floatingip": {}}, expect=400)
        c("floating ip list", "GET", f"{base}/floatingips", token=t, expect=200)
        c("floating ip list no token", "GET", f"{base}/floatingips", expect=401)
        c("floating ip show", "GET", f"{base}/floatingips/{fip['id']}", token=t, expect=200)
        c("floating ip show as another", "GET", f"{base}/floatingips/{fip['id']}", token=bob, expect=404)
        c("floating ip update", "PUT", f"{base}/floatingips/{fip['id']}", token=t,
          json={"floatingip": {"port_id": None}}, expect=200)
        c("floating ip update missing", "PUT", f"{base}/floatingips/{MISSING}", token=t,
          json={"floatingip": {"port_id": None}}, expect=404)
        self._tags("routers", router["id"])
        self._tags("floatingips", fip["id"])
        c("floating ip delete", "DELETE", f"{base}/floatingips/{fip['id']}", token=t, expect=204)
        c("floating ip delete again", "DELETE", f"{base}/floatingips/{fip['id']}", token=t, expect=404)

        # Quotas, extensions, agents, availability.
        c("quotas", "GET", f"{base}/quotas", token=a, expect=200)
        c("quotas as member", "GET", f"{base}/quotas", token=t, expect=403)
        c("quotas json", "GET", f"{base}/quotas.json", token=a, expect=200)
        c("quotas json as member", "GET", f"{base}/quotas.json", token=t, expect=403)
        c("quotas tenant", "GET", f"{base}/quotas/tenant", token=t, expect=200)
        c("quotas tenant no token", "GET", f"{base}/quotas/tenant", expect=401)
        c("quotas project", "GET", f"{base}/quotas/project", token=t, expect=200)
        c("quotas project no token", "GET", f"{base}/quotas/project", expect=401)
        for suffix in ("", "/default", "/default.json", "/details", "/details.json"):
            c(f"quota show{suffix}", "GET", f"{base}/quotas/{pa}{suffix}", token=t, expect=200)
            c(f"quota show{suffix} of another", "GET", f"{base}/quotas/{self.project_b['id']}{suffix}", token=t,
              expect=(403, 404))
        c("quota update", "PUT", f"{base}/quotas/{pa}", token=a, json={"quota": {"network": 20}}, expect=200)
        c("quota update as member", "PUT", f"{base}/quotas/{pa}", token=t, json={"quota": {"network": 99}},
          expect=403)
        c("quota update bad body", "PUT", f"{base}/quotas/{pa}", token=a, json={"quota": {"network": "many"}},
          expect=400)
        c("quota reset", "DELETE", f"{base}/quotas/{pa}", token=a, expect=204)
        c("quota reset as member", "DELETE", f"{base}/quotas/{pa}", token=t, expect=403)
        c("extensions", "GET", f"{base}/extensions", token=t, expect=200)
        c("extensions no token", "GET", f"{base}/extensions", expect=401)
        c("extension show", "GET", f"{base}/extensions/router", token=t, expect=200)
        c("extension show missing", "GET", f"{base}/extensions/no-such-extension", token=t, expect=404)
        agents = c("agents", "GET", f"{base}/agents", token=a, expect=200).json()["agents"]
        c("agents as member", "GET", f"{base}/agents", token=t, expect=200)  # Neutron: none visible, not refused
        if agents:
            c("agent show", "GET", f"{base}/agents/{agents[0]['id']}", token=a, expect=200)
        c("agent show missing", "GET", f"{base}/agents/{MISSING}", token=a, expect=404)
        c("network dhcp agents", "GET", f"{base}/networks/{net['id']}/dhcp-agents", token=a, expect=200)
        c("network dhcp agents as member", "GET", f"{base}/networks/{net['id']}/dhcp-agents", token=t, expect=403)
        c("ip availabilities", "GET", f"{base}/network-ip-availabilities", token=a, expect=200)
        c("ip availabilities as member", "GET", f"{base}/network-ip-availabilities", token=t, expect=403)
        c("ip availability", "GET", f"{base}/network-ip-availabilities/{net['id']}", token=a, expect=200)
        c("ip availability missing", "GET", f"{base}/network-ip-availabilities/{MISSING}", token=a, expect=404)

    def _tags(self, collection: str, rid: str) -> None:
        c, t = self.call, self.alice_token
        base = f"/network/v2.0/{collection}/{rid}/tags"
        c(f"{collection} tags replace", "PUT", base, token=t, json={"tags": ["blue", "green"]}, expect=200)
        c(f"{collection} tags replace bad body", "PUT", base, token=t, json={"tags": "blue"}, expect=400)
        c(f"{collection} tags list", "GET", base, token=t, expect=200)
        c(f"{collection} tags list missing", "GET", f"/network/v2.0/{collection}/{MISSING}/tags", token=t,
          expect=404)
        c(f"{collection} tag add", "PUT", f"{base}/red", token=t, expect=201)
        c(f"{collection} tag add missing", "PUT", f"/network/v2.0/{collection}/{MISSING}/tags/red", token=t,
          expect=404)
        c(f"{collection} tag check", "GET", f"{base}/red", token=t, expect=204)
        c(f"{collection} tag check absent", "GET", f"{base}/purple", token=t, expect=404)
        c(f"{collection} tag remove", "DELETE", f"{base}/red", token=t, expect=204)
        c(f"{collection} tag remove again", "DELETE", f"{base}/red", token=t, expect=404)
        c(f"{collection} tags clear", "DELETE", base, token=t, expect=204)
        c(f"{collection} tags clear missing", "DELETE", f"/network/v2.0/{collection}/{MISSING}/tags", token=t,
          expect=404)

    # ---- compute ----------------------------------------------------------------------------

    def compute(self) -> None:
        c, a, t, bob = self.call, self.admin, self.alice_token, self.bob_token
        base = "/compute/v2.1"
        c("flavor list", "GET", f"{base}/flavors", token=t, expect=200)
        c("flavor list no token", "GET", f"{base}/flavors", expect=401)
        c("flavor detail", "GET", f"{base}/flavors/detail", token=t, expect=200)
        c("flavor detail no token", "GET", f"{base}/flavors/detail", expect=401)
        c("flavor show", "GET", f"{base}/flavors/1", token=t, expect=200)
        c("flavor show missing", "GET", f"{base}/flavors/nope", token=t, expect=404)
        flavor = c("flavor create", "POST", f"{base}/flavors", token=a,
                   json={"flavor": {"name": "golden.small", "ram": 128, "vcpus": 1, "disk": 1, "id": "golden",
                                    "os-flavor-access:is_public": False}}, expect=200).json()["flavor"]
        c("flavor create as member", "POST", f"{base}/flavors", token=t,
          json={"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 1}}, expect=403)
        f = f"{base}/flavors/{flavor['id']}"
        c("flavor extra specs set", "POST", f"{f}/os-extra_specs", token=a,
          json={"extra_specs": {"hw:cpu_policy": "shared"}}, expect=200)
        c("flavor extra specs set bad", "POST", f"{f}/os-extra_specs", token=a, json={"extra_specs": "x"},
          expect=400)
        c("flavor extra specs", "GET", f"{f}/os-extra_specs", token=a, expect=200)
        c("flavor extra specs missing flavor", "GET", f"{base}/flavors/nope/os-extra_specs", token=a, expect=404)
        c("flavor extra spec", "GET", f"{f}/os-extra_specs/hw:cpu_policy", token=a, expect=200)
        c("flavor extra spec missing", "GET", f"{f}/os-extra_specs/nope", token=a, expect=404)
        c("flavor extra spec delete", "DELETE", f"{f}/os-extra_specs/hw:cpu_policy", token=a, expect=200)
        c("flavor extra spec delete again", "DELETE", f"{f}/os-extra_specs/hw:cpu_policy", token=a, expect=404)
        c("flavor access add", "POST", f"{f}/action", token=a,
          json={"addTenantAccess": {"tenant": self.project_a["id"]}}, expect=200)
        c("flavor access bad action", "POST", f"{f}/action", token=a, json={"fly": {}}, expect=400)
        c("flavor access list", "GET", f"{f}/os-flavor-access", token=a, expect=200)
        c("flavor access list missing", "GET", f"{base}/flavors/nope/os-flavor-access", token=a, expect=404)
        c("flavor access remove", "POST", f"{f}/action", token=a,
          json={"removeTenantAccess": {"tenant": self.project_a["id"]}}, expect=200)
        c("flavor delete", "DELETE", f, token=a, expect=202)
        c("flavor delete again", "DELETE", f, token=a, expect=404)

        kp = f"{base}/os-keypairs"
        c("keypair import", "POST", kp, token=t, json={"keypair": {"name": "golden-key", "public_key": PUBLIC_KEY}},
          expect=(200, 201))
        c("keypair import duplicate", "POST", kp, token=t,
          json={"keypair": {"name": "golden-key", "public_key": PUBLIC_KEY}}, expect=409)
        generated = c("keypair generate", "POST", kp, token=t, json={"keypair": {"name": "golden-generated"}},
                      expect=(200, 201)).json()["keypair"]
        self.rec.normaliser.literal(generated["public_key"].strip(), "<generated-public-key>")
        self.rec.normaliser.literal(generated["fingerprint"], "<generated-fingerprint>")
        c("keypair list", "GET", kp, token=t, expect=200)
        c("keypair list no token", "GET", kp, expect=401)
        c("keypair show", "GET", f"{kp}/golden-key", token=t, expect=200)
        c("keypair show missing", "GET", f"{kp}/nope", token=t, expect=404)
        c("keypair delete", "DELETE", f"{kp}/golden-generated", token=t, expect=(202, 204))
        c("keypair delete again", "DELETE", f"{kp}/golden-generated", token=t, expect=404)

        c("limits", "GET", f"{base}/limits", token=t, expect=200)
        c("limits no token", "GET", f"{base}/limits", expect=401)
        c("availability zones", "GET", f"{base}/os-availability-zone", token=t, expect=200)
        c("availability zones no token", "GET", f"{base}/os-availability-zone", expect=401)
        c("availability zones detail", "GET", f"{base}/os-availability-zone/detail", token=a, expect=200)
        c("availability zones detail as member", "GET", f"{base}/os-availability-zone/detail", token=t,
          expect=403)
        hypervisors = c("hypervisors", "GET", f"{base}/os-hypervisors", token=a, expect=200).json()["hypervisors"]
        c("hypervisors as member", "GET", f"{base}/os-hypervisors", token=t, expect=403)
        c("hypervisors detail", "GET", f"{base}/os-hypervisors/detail", token=a, expect=200)
        c("hypervisors detail as member", "GET", f"{base}/os-hypervisors/detail", token=t, expect=403)
        ours = next(h for h in hypervisors if h["hypervisor_hostname"] == HOST)
        c("hypervisor show", "GET", f"{base}/os-hypervisors/{ours['id']}", token=a, expect=200)
        c("hypervisor show missing", "GET", f"{base}/os-hypervisors/{MISSING}", token=a, expect=404)
        c("services", "GET", f"{base}/os-services", token=a, expect=200)
        c("services as member", "GET", f"{base}/os-services", token=t, expect=403)

        # Servers: one with no network, one on alice's network.
        created = c("server create", "POST", f"{base}/servers", token=t, headers=NOVA_21,
                    json={"server": {"name": "golden-server", "imageRef": self.image_id, "flavorRef": "1",
                                     "key_name": "golden-key", "metadata": {"role": "db"},
                                     "user_data": base64.b64encode(b"#!/bin/sh\necho golden\n").decode()}},
                    expect=202).json()["server"]
        self.server_id = created["id"]
        self.rec.normaliser.literal(created.get("adminPass", ""), "<admin-pass>")
        c("server create bad body", "POST", f"{base}/servers", token=t, headers=NOVA_21,
          json={"server": {"name": "x"}}, expect=400)
        c("server create bad microversion", "POST", f"{base}/servers", token=t,
          headers={"OpenStack-API-Version": "compute 9.99"}, json={"server": {"name": "x"}}, expect=406)
        netted = c("server create on network", "POST", f"{base}/servers", token=t, headers=NOVA_21,
                   json={"server": {"name": "golden-server-net", "imageRef": self.image_id, "flavorRef": "1",
                                    "networks": [{"uuid": self.network_id}],
                                    "security_groups": [{"name": "golden-sg"}]}}, expect=202).json()["server"]
        self.netted_id = netted["id"]
        self.rec.normaliser.literal(netted.get("adminPass", ""), "<admin-pass-2>")
        # The scenario plays the host: read what it should run, report both servers running.
        c("host desired state", "GET", f"/internal/v1/hosts/{HOST}/instances", token=self.host_token, expect=200)
        c("host desired state other host", "GET", "/internal/v1/hosts/not-mine/instances", token=self.host_token,
          expect=(403, 404))
        for step, sid in (("server", self.server_id), ("server net", self.netted_id)):
            c(f"{step} observed running", "PUT", f"/internal/v1/instances/{sid}/observed", token=self.host_token,
              json={"power": "running", "console": "golden console\n"}, expect=200)
        c("observed bad body", "PUT", f"/internal/v1/instances/{self.server_id}/observed", token=self.host_token,
          json={"power": "dancing"}, expect=400)
        c("observed missing", "PUT", f"/internal/v1/instances/{MISSING}/observed", token=self.host_token,
          json={"power": "running"}, expect=404)

        s = f"{base}/servers/{self.server_id}"
        c("server list", "GET", f"{base}/servers", token=t, expect=200)
        c("server list bad filter", "GET", f"{base}/servers?limit=nope", token=t, expect=400)
        c("server list detail", "GET", f"{base}/servers/detail", token=t, headers=NOVA_21, expect=200)
        c("server list detail no token", "GET", f"{base}/servers/detail", expect=401)
        c("server show", "GET", s, token=t, expect=200)
        c("server show as another", "GET", s, token=bob, expect=404)
        c("server show 2.1", "GET", f"{base}/servers/{self.netted_id}", token=t, headers=NOVA_21, expect=200)
        c("server update", "PUT", s, token=t, json={"server": {"name": "golden-server-renamed"}}, expect=200)
        c("server update bad body", "PUT", s, token=t, json={"server": {"name": ""}}, expect=400)
        m = f"{s}/metadata"
        c("server metadata", "GET", m, token=t, expect=200)
        c("server metadata as another", "GET", m, token=bob, expect=404)
        c("server metadata merge", "POST", m, token=t, json={"metadata": {"tier": "gold"}}, expect=200)
        c("server metadata merge bad", "POST", m, token=t, json={"metadata": "x"}, expect=400)
        c("server metadata replace", "PUT", m, token=t, json={"metadata": {"role": "db", "tier": "gold"}},
          expect=200)
        c("server metadata replace bad", "PUT", m, token=t, json={"meta": {}}, expect=400)
        c("server metadata item", "GET", f"{m}/tier", token=t, expect=200)
        c("server metadata item missing", "GET", f"{m}/nope", token=t, expect=404)
        c("server metadata item set", "PUT", f"{m}/tier", token=t, json={"meta": {"tier": "silver"}}, expect=200)
        c("server metadata item set mismatch", "PUT", f"{m}/tier", token=t, json={"meta": {"other": "x"}},
          expect=400)
        c("server metadata item delete", "DELETE", f"{m}/tier", token=t, expect=204)
        c("server metadata item delete again", "DELETE", f"{m}/tier", token=t, expect=404)
        act = f"{s}/action"
        c("server console output", "POST", act, token=t, json={"os-getConsoleOutput": {"length": 10}}, expect=200)
        c("server unknown action", "POST", act, token=t, json={"os-fly": None}, expect=400)
        c("server stop", "POST", act, token=t, json={"os-stop": None}, expect=202)
        c("server start while stopping", "POST", act, token=t, json={"os-start": None}, expect=409)
        c("server reboot as another", "POST", act, token=bob, json={"reboot": {"type": "SOFT"}}, expect=404)

        iface = f"{base}/servers/{self.netted_id}/os-interface"
        ports = c("interfaces", "GET", iface, token=t, expect=200).json()["interfaceAttachments"]
        c("interfaces as another", "GET", iface, token=bob, expect=404)
        c("interface show", "GET", f"{iface}/{ports[0]['port_id']}", token=t, expect=200)
        c("interface show missing", "GET", f"{iface}/{MISSING}", token=t, expect=404)
        c("interface attach", "POST", iface, token=t, json={"interfaceAttachment": {"port_id": self.port_id}},
          expect=200)
        c("interface attach bad body", "POST", iface, token=t, json={"interfaceAttachment": {"port_id": 5}},
          expect=400)
        c("interface detach", "DELETE", f"{iface}/{self.port_id}", token=t, expect=202)
        c("interface detach missing", "DELETE", f"{iface}/{MISSING}", token=t, expect=404)
        sg_act = f"{base}/servers/{self.netted_id}/action"
        c("server remove security group", "POST", sg_act, token=t,
          json={"removeSecurityGroup": {"name": "golden-sg"}}, expect=202)
        c("server add security group missing", "POST", sg_act, token=t,
          json={"addSecurityGroup": {"name": "no-such-group"}}, expect=404)

    def _app_credential_token(self, config: dict) -> str:
        with self.server.http() as client:
            response = client.post("/identity/v3/auth/tokens?nocatalog", json={"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": {
                    "id": config["application_credential_id"],
                    "secret": config["application_credential_secret"]}}}})
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    # ---- internal API (the rest) and metadata -------------------------------------------------

    def internal_and_metadata(self) -> None:
        c, h, t = self.call, self.host_token, self.alice_token
        md = "/metadata"
        internal = "/internal/v1/hosts"
        c("host heartbeat bad body", "POST", f"{internal}/{HOST}", token=h, json={"vcpus": -1}, expect=400)
        c("host heartbeat as tenant", "POST", f"{internal}/{HOST}", token=t, json=CAPACITY, expect=403)
        c("host image file", "GET", f"{internal}/{HOST}/images/{self.image_id}/file", token=h, expect=200)
        c("host image file missing", "GET", f"{internal}/{HOST}/images/{MISSING}/file", token=h, expect=404)
        c("host network again", "GET", f"{internal}/{HOST}/network", token=h, expect=200)
        c("host network other host", "GET", f"{internal}/not-mine/network", token=h, expect=(403, 404))
        c("host network status", "POST", f"{internal}/{HOST}/network/status", token=h,
          json={"ports": {}, "floating_ips": {}}, expect=200)
        c("host network status bad body", "POST", f"{internal}/{HOST}/network/status", token=h,
          json={"ports": {"x": "SLEEPING"}}, expect=400)

        # The wire contract of Neutron's metadata proxy, written out here so that moving the code that signs
        # does not move the test: the signature is the hex HMAC-SHA256 of the instance id.
        key = (self.server.data_dir / "metadata-secret").read_bytes()
        signed = {"X-Instance-ID": self.server_id, "X-Tenant-ID": self.project_a["id"],
                  "X-Instance-ID-Signature": hmac.new(key, self.server_id.encode(), hashlib.sha256).hexdigest()}
        c("metadata bad signature", "GET", f"{md}/openstack/latest/meta_data.json",
          headers={**signed, "X-Instance-ID-Signature": "0" * 64}, expect=403)
        c("metadata other tenant", "GET", f"{md}/openstack/latest/meta_data.json",
          headers={**signed, "X-Tenant-ID": self.project_b["id"]}, expect=404)
        c("metadata index", "GET", f"{md}/", headers=signed, expect=200)
        c("metadata meta_data.json", "GET", f"{md}/openstack/latest/meta_data.json", headers=signed, expect=200)
        c("metadata user-data", "GET", f"{md}/openstack/latest/user_data", headers=signed, expect=200)
        c("metadata ec2 instance-id", "GET", f"{md}/latest/meta-data/instance-id", headers=signed, expect=200)
        c("metadata missing path", "GET", f"{md}/openstack/latest/nope", headers=signed, expect=404)
        c("metadata unsigned", "GET", f"{md}/openstack/latest/meta_data.json", expect=403)
        c("metadata head", "HEAD", f"{md}/openstack/latest/meta_data.json", headers=signed, expect=(200, 405))
        c("metadata head unsigned", "HEAD", f"{md}/openstack/latest/meta_data.json", expect=(403, 405))
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            c(f"metadata {method}", method, f"{md}/openstack/latest/meta_data.json", headers=signed,
              expect=(200, 403, 405))
            c(f"metadata {method} unsigned", method, f"{md}/openstack/latest/meta_data.json",
              expect=(200, 403, 405))

    # ---- cleanup: the deletes, last, so the steps above see everything ------------------------

    def teardown(self) -> None:
        c, a, t, bob = self.call, self.admin, self.alice_token, self.bob_token
        base = "/network/v2.0"
        c("server delete as another", "DELETE", f"/compute/v2.1/servers/{self.server_id}", token=bob, expect=404)
        c("server delete", "DELETE", f"/compute/v2.1/servers/{self.server_id}", token=t, expect=204)
        c("server delete net", "DELETE", f"/compute/v2.1/servers/{self.netted_id}", token=t, expect=204)
        r = f"{base}/routers/{self.router_id}"
        c("router remove interface", "PUT", f"{r}/remove_router_interface", token=t,
          json={"subnet_id": self.subnet_id}, expect=200)
        c("router remove interface again", "PUT", f"{r}/remove_router_interface", token=t,
          json={"subnet_id": self.subnet_id}, expect=404)
        c("router delete", "DELETE", r, token=t, expect=204)
        c("router delete again", "DELETE", r, token=t, expect=404)
        c("port delete", "DELETE", f"{base}/ports/{self.port_id}", token=t, expect=204)
        c("port delete again", "DELETE", f"{base}/ports/{self.port_id}", token=t, expect=404)
        c("security group delete", "DELETE", f"{base}/security-groups/{self.sg_id}", token=t, expect=(204, 409))
        c("security group delete missing", "DELETE", f"{base}/security-groups/{MISSING}", token=t, expect=404)
        c("subnet delete", "DELETE", f"{base}/subnets/{self.subnet_id}", token=t, expect=(204, 409))
        c("subnet delete missing", "DELETE", f"{base}/subnets/{MISSING}", token=t, expect=404)
        c("network delete", "DELETE", f"{base}/networks/{self.network_id}", token=t, expect=(204, 409))
        c("network delete missing", "DELETE", f"{base}/networks/{MISSING}", token=t, expect=404)
        c("external network delete as member", "DELETE", f"{base}/networks/{self.ext_id}", token=t, expect=403)
        c("image delete in use", "DELETE", f"/image/v2/images/{self.image_id}", token=bob, expect=404)
        c("image delete golden", "DELETE", f"/image/v2/images/{self.image_id}", token=t, expect=204)
        c("identity after all", "GET", f"/identity/v3/projects/{self.project_b['id']}", token=a, expect=200)

    # ---- image: what Glance clients probe, and metadata definitions (issue 15) -------------------

    def image_conformance(self) -> None:
        c, a, t, bob = self.call, self.admin, self.alice_token, self.bob_token
        base = "/image/v2"
        spare = c("image create for 2.0 patch", "POST", f"{base}/images", token=t, json={"name": "golden-patch"},
                  expect=201).json()
        c("image update 2.0 patch", "PATCH", f"{base}/images/{spare['id']}", token=t,
          headers={"Content-Type": "application/openstack-images-v2.0-json-patch"},
          content=b'[{"replace": "/name", "value": "golden-patched"}, {"add": "/golden_flag", "value": "on"}]',
          expect=200)
        c("image update 2.0 patch ambiguous", "PATCH", f"{base}/images/{spare['id']}", token=t,
          headers={"Content-Type": "application/openstack-images-v2.0-json-patch"},
          content=b'[{"add": "/a", "remove": "/b"}]', expect=400)
        c("image delete for 2.0 patch", "DELETE", f"{base}/images/{spare['id']}", token=t, expect=204)
        for name in ("member", "members"):
            c(f"image {name} schema", "GET", f"{base}/schemas/{name}", token=t, expect=200)
            c(f"image {name} schema no token", "GET", f"{base}/schemas/{name}", expect=401)
        for name in ("import", "stores"):
            c(f"image info {name}", "GET", f"{base}/info/{name}", token=t, expect=200)
            c(f"image info {name} no token", "GET", f"{base}/info/{name}", expect=401)
        c("metadefs schema namespace", "GET", f"{base}/schemas/metadefs/namespace", token=t, expect=200)
        c("metadefs schema missing", "GET", f"{base}/schemas/metadefs/nothing", token=t, expect=404)

        md = f"{base}/metadefs"
        c("metadefs resource types", "GET", f"{md}/resource_types", token=t, expect=200)
        c("metadefs resource types no token", "GET", f"{md}/resource_types", expect=401)
        c("metadefs namespaces", "GET", f"{md}/namespaces?visibility=public", token=t, expect=200)
        c("metadefs namespaces bad limit", "GET", f"{md}/namespaces?limit=nope", token=t, expect=400)
        c("metadefs catalogue namespace", "GET", f"{md}/namespaces/OS::Compute::QemuImage", token=t, expect=200)
        c("metadefs namespace public as member", "POST", f"{md}/namespaces", token=t,
          json={"namespace": "Golden::Public", "visibility": "public"}, expect=403)
        c("metadefs namespace create", "POST", f"{md}/namespaces", token=t,
          json={"namespace": "Golden::Private", "display_name": "Golden", "description": "the scenario's"},
          expect=201)
        c("metadefs namespace create again", "POST", f"{md}/namespaces", token=t,
          json={"namespace": "Golden::Private"}, expect=409)
        ns = f"{md}/namespaces/Golden::Private"
        c("metadefs namespace show", "GET", ns, token=t, expect=200)
        c("metadefs namespace show as another", "GET", ns, token=bob, expect=404)
        c("metadefs namespace update", "PUT", ns, token=t,
          json={"namespace": "Golden::Private", "display_name": "Golden (renamed)"}, expect=200)
        c("metadefs namespace update as another", "PUT", ns, token=bob, json={"namespace": "Golden::Private"},
          expect=404)

        c("metadefs object create", "POST", f"{ns}/objects", token=t,
          json={"name": "Backup", "required": ["keep"], "properties": {"keep": {"title": "Keep", "type": "integer"}}},
          expect=201)
        c("metadefs object create bad", "POST", f"{ns}/objects", token=t, json={"description": "no name"}, expect=400)
        c("metadefs objects", "GET", f"{ns}/objects", token=t, expect=200)
        c("metadefs objects as another", "GET", f"{ns}/objects", token=bob, expect=404)
        c("metadefs object show", "GET", f"{ns}/objects/Backup", token=t, expect=200)
        c("metadefs object show missing", "GET", f"{ns}/objects/Nothing", token=t, expect=404)
        c("metadefs object update", "PUT", f"{ns}/objects/Backup", token=t,
          json={"name": "Backup", "description": "kept backups"}, expect=200)
        c("metadefs object update missing", "PUT", f"{ns}/objects/Nothing", token=t, json={"name": "X"}, expect=404)
        c("metadefs object delete", "DELETE", f"{ns}/objects/Backup", token=t, expect=204)
        c("metadefs object delete again", "DELETE", f"{ns}/objects/Backup", token=t, expect=404)

        c("metadefs property create", "POST", f"{ns}/properties", token=t,
          json={"name": "golden_tier", "title": "Tier", "type": "string", "enum": ["gold", "silver"]}, expect=201)
        c("metadefs property create bad", "POST", f"{ns}/properties", token=t,
          json={"name": "golden_x", "title": "X", "type": "colour"}, expect=400)
        c("metadefs properties", "GET", f"{ns}/properties", token=t, expect=200)
        c("metadefs properties as another", "GET", f"{ns}/properties", token=bob, expect=404)
        c("metadefs property show", "GET", f"{ns}/properties/golden_tier", token=t, expect=200)
        c("metadefs property show missing", "GET", f"{ns}/properties/nothing", token=t, expect=404)
        c("metadefs property update", "PUT", f"{ns}/properties/golden_tier", token=t,
          json={"name": "golden_tier", "title": "Service tier", "type": "string"}, expect=200)
        c("metadefs property update bad", "PUT", f"{ns}/properties/golden_tier", token=t,
          json={"title": "Service tier"}, expect=400)
        c("metadefs property delete", "DELETE", f"{ns}/properties/golden_tier", token=t, expect=204)
        c("metadefs property delete again", "DELETE", f"{ns}/properties/golden_tier", token=t, expect=404)

        c("metadefs tags create", "POST", f"{ns}/tags", token=t, json={"tags": [{"name": "a"}, {"name": "b"}]},
          expect=201)
        c("metadefs tags create duplicate", "POST", f"{ns}/tags", token=t,
          json={"tags": [{"name": "a"}, {"name": "a"}]}, expect=409)
        c("metadefs tag create", "POST", f"{ns}/tags/c", token=t, expect=201)
        c("metadefs tag create again", "POST", f"{ns}/tags/c", token=t, expect=409)
        c("metadefs tags", "GET", f"{ns}/tags", token=t, expect=200)
        c("metadefs tags as another", "GET", f"{ns}/tags", token=bob, expect=404)
        c("metadefs tag show", "GET", f"{ns}/tags/a", token=t, expect=200)
        c("metadefs tag show missing", "GET", f"{ns}/tags/zzz", token=t, expect=404)
        c("metadefs tag update", "PUT", f"{ns}/tags/a", token=t, json={"name": "alpha"}, expect=200)
        c("metadefs tag update taken", "PUT", f"{ns}/tags/alpha", token=t, json={"name": "b"}, expect=409)
        c("metadefs tag delete", "DELETE", f"{ns}/tags/alpha", token=t, expect=204)
        c("metadefs tag delete again", "DELETE", f"{ns}/tags/alpha", token=t, expect=404)

        c("metadefs association create", "POST", f"{ns}/resource_types", token=t,
          json={"name": "OS::Glance::Image", "prefix": "golden_"}, expect=201)
        c("metadefs association create again", "POST", f"{ns}/resource_types", token=t,
          json={"name": "OS::Glance::Image"}, expect=409)
        c("metadefs associations", "GET", f"{ns}/resource_types", token=t, expect=200)
        c("metadefs associations as another", "GET", f"{ns}/resource_types", token=bob, expect=404)
        c("metadefs association delete", "DELETE", f"{ns}/resource_types/OS::Glance::Image", token=t, expect=204)
        c("metadefs association delete again", "DELETE", f"{ns}/resource_types/OS::Glance::Image", token=t,
          expect=404)

        c("metadefs objects delete all", "DELETE", f"{ns}/objects", token=t, expect=204)
        c("metadefs objects delete all as another", "DELETE", f"{ns}/objects", token=bob, expect=404)
        c("metadefs properties delete all", "DELETE", f"{ns}/properties", token=t, expect=204)
        c("metadefs properties delete all as another", "DELETE", f"{ns}/properties", token=bob, expect=404)
        c("metadefs tags delete all", "DELETE", f"{ns}/tags", token=t, expect=204)
        c("metadefs tags delete all as another", "DELETE", f"{ns}/tags", token=bob, expect=404)
        c("metadefs catalogue delete as member", "DELETE", f"{md}/namespaces/OS::Compute::QemuImage", token=t,
          expect=403)
        c("metadefs catalogue delete protected", "DELETE", f"{md}/namespaces/OS::Compute::QemuImage", token=a,
          expect=403)
        c("metadefs namespace delete", "DELETE", ns, token=t, expect=204)
        c("metadefs namespace delete again", "DELETE", ns, token=t, expect=404)

    def nova_details(self) -> None:
        """Issue 15 item 4/5: accessIPs, /servers/{id}/ips, adminPass, changePassword; its own image, network and
        server, played last so that no earlier step's ids move."""
        c, t, bob = self.call, self.alice_token, self.bob_token
        made = c("details image create", "POST", "/image/v2/images", token=t,
                 json={"name": "golden-details", "disk_format": "qcow2", "container_format": "bare"},
                 expect=201).json()
        c("details image upload", "PUT", f"/image/v2/images/{made['id']}/file", token=t,
          content=gzip.decompress(IMAGE.read_bytes()), headers={"Content-Type": "application/octet-stream"},
          expect=204)
        network = c("details network", "POST", "/network/v2.0/networks", token=t,
                    json={"network": {"name": "golden-details"}}, expect=201).json()["network"]
        c("details subnet", "POST", "/network/v2.0/subnets", token=t,
          json={"subnet": {"network_id": network["id"], "cidr": "10.78.0.0/24", "ip_version": 4}}, expect=201)
        base = "/compute/v2.1/servers"
        c("server create bad access ip", "POST", base, token=t, json={"server": {
            "name": "x", "imageRef": made["id"], "flavorRef": "1", "accessIPv4": "2001:db8::1"}}, expect=400)
        created = c("server create with access ips", "POST", base, token=t, json={"server": {
            "name": "golden-details", "imageRef": made["id"], "flavorRef": "1", "networks": [{"uuid": network["id"]}],
            "accessIPv4": "203.0.113.9", "accessIPv6": "2001:db8::9"}}, expect=202).json()["server"]
        self.rec.normaliser.literal(created.get("adminPass", ""), "<admin-pass-3>")
        s = f"{base}/{created['id']}"
        c("server show access ips", "GET", s, token=t, expect=200)
        c("server update access ip", "PUT", s, token=t, json={"server": {"accessIPv4": "203.0.113.10"}}, expect=200)
        c("server update bad access ip", "PUT", s, token=t, json={"server": {"accessIPv6": "203.0.113.10"}},
          expect=400)
        c("server ips", "GET", f"{s}/ips", token=t, expect=200)
        c("server ips as another", "GET", f"{s}/ips", token=bob, expect=404)
        c("server ips by network", "GET", f"{s}/ips/golden-details", token=t, expect=200)
        c("server ips unknown network", "GET", f"{s}/ips/nowhere", token=t, expect=404)
        c("server change password", "POST", f"{s}/action", token=t, json={"changePassword": {"adminPass": "x"}},
          expect=409)
        c("server change password bad body", "POST", f"{s}/action", token=t, json={"changePassword": {}},
          expect=400)
        c("details server delete", "DELETE", s, token=t, expect=204)
        c("details network delete", "DELETE", f"/network/v2.0/networks/{network['id']}", token=t, expect=204)
        c("details image delete", "DELETE", f"/image/v2/images/{made['id']}", token=t, expect=204)

    # ---- for every route, derived from the route table: a method it does not take, a body that is not JSON ------

    def every_route_refuses(self) -> None:
        """On the path of each route's first success: a method no route there takes (405, in that service's
        format), and for a route that takes a body, one that is not JSON. Run last, in template order. Their answers
        are recorded as they are: routes that read no body answer as if none was sent, the resource may be gone."""
        table = routes.app_routes()
        match = routes.matcher(table)
        first: dict[routes.RouteKey, object] = {}
        for exchange in list(self.rec.exchanges):
            key = match(exchange.method, exchange.path)
            if key is not None and exchange.status < 400:
                first.setdefault(key, exchange)
        probes: dict[str, tuple[str, str, str | None, bool]] = {}
        for key, exchange in first.items():
            wrong = next((m for m in ("PATCH", "PUT", "POST", "DELETE", "GET") if match(m, exchange.path) is None),
                         None)
            if wrong is not None:
                probes.setdefault(f"wrong method {wrong} on {key.path}", (wrong, exchange.path, exchange.token,
                                                                          False))
            if key.method in ("POST", "PUT", "PATCH") and not key.path.startswith("/metadata"):
                probes[f"malformed body {key}"] = (key.method, exchange.path, exchange.token, True)
        for step in sorted(probes):
            method, path, token, malformed = probes[step]
            if malformed:
                self.call(step, method, path, token=token, content=BAD_JSON,
                          headers={"Content-Type": "application/json"})
            else:
                self.call(step, method, path, token=token)

    # ---- Nova: server groups, instance actions, extensions (issue 15 item 11) ---------------------------------

    def nova_features(self) -> None:
        c, a, t, bob = self.call, self.admin, self.alice_token, self.bob_token
        base = "/compute/v2.1"
        groups = f"{base}/os-server-groups"
        group = c("server group create", "POST", groups, token=t,
                  json={"server_group": {"name": "golden-group", "policies": ["anti-affinity"]}},
                  expect=200).json()["server_group"]
        c("server group create bad policy", "POST", groups, token=t,
          json={"server_group": {"name": "x", "policies": ["soft-anti-affinity"]}}, expect=400)
        c("server group create 2.64 shape at 2.1", "POST", groups, token=t,
          json={"server_group": {"name": "x", "policy": "affinity"}}, expect=400)
        c("server group list", "GET", groups, token=t, expect=200)
        c("server group list all projects", "GET", f"{groups}?all_projects=True", token=a, expect=200)
        c("server group list bad limit", "GET", f"{groups}?limit=x", token=t, expect=400)
        c("server group list no token", "GET", groups, expect=401)
        g = f"{groups}/{group['id']}"
        c("server group show", "GET", g, token=t, expect=200)
        c("server group show as another", "GET", g, token=bob, expect=404)
        c("server group delete as another", "DELETE", g, token=bob, expect=404)
        c("server group delete", "DELETE", g, token=t, expect=204)
        c("server group delete again", "DELETE", g, token=t, expect=404)

        actions = f"{base}/servers/{self.server_id}/os-instance-actions"
        listed = c("instance actions", "GET", actions, token=t, expect=200).json()["instanceActions"]
        c("instance actions as another", "GET", actions, token=bob, expect=404)
        create = next(action for action in listed if action["action"] == "create")
        c("instance action show", "GET", f"{actions}/{create['request_id']}", token=t, expect=200)
        c("instance action show as admin", "GET", f"{actions}/{create['request_id']}", token=a, expect=200)
        c("instance action show missing", "GET", f"{actions}/req-nope", token=t, expect=404)

        c("compute extensions", "GET", f"{base}/extensions", token=t, expect=200)
        c("compute extensions no token", "GET", f"{base}/extensions", expect=401)
        c("compute extension show", "GET", f"{base}/extensions/os-server-groups", token=t, expect=200)
        c("compute extension show missing", "GET", f"{base}/extensions/os-nothing", token=t, expect=404)

        # The proxies of microversion 2.1, answered by the network and image services.
        sgs = f"{base}/os-security-groups"
        proxied = c("nova security group create", "POST", sgs, token=t,
                    json={"security_group": {"name": "golden-nova-sg", "description": "by proxy"}},
                    expect=200).json()["security_group"]
        c("nova security group create bad body", "POST", sgs, token=t, json={"security_group": {"name": "x"}},
          expect=400)
        c("nova security groups", "GET", sgs, token=t, expect=200)
        c("nova security groups no token", "GET", sgs, expect=401)
        sg = f"{sgs}/{proxied['id']}"
        c("nova security group show", "GET", sg, token=t, expect=200)
        c("nova security group show as another", "GET", sg, token=bob, expect=404)
        rules = f"{base}/os-security-group-rules"
        rule = c("nova security group rule create", "POST", rules, token=t, json={"security_group_rule": {
            "parent_group_id": proxied["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
            "cidr": "10.0.0.0/8"}}, expect=200).json()["security_group_rule"]
        c("nova security group rule create as another", "POST", rules, token=bob, json={"security_group_rule": {
            "parent_group_id": proxied["id"], "ip_protocol": "tcp", "from_port": 1, "to_port": 2}}, expect=404)
        c("nova security group rule delete", "DELETE", f"{rules}/{rule['id']}", token=t, expect=202)
        c("nova security group rule delete again", "DELETE", f"{rules}/{rule['id']}", token=t, expect=404)
        c("nova security group delete as another", "DELETE", sg, token=bob, expect=404)
        c("nova security group delete", "DELETE", sg, token=t, expect=202)
        fip = c("nova floating ip made in neutron", "POST", "/network/v2.0/floatingips", token=t,
                json={"floatingip": {"floating_network_id": self.ext_id}}, expect=201).json()["floatingip"]
        fips = f"{base}/os-floating-ips"
        c("nova floating ips", "GET", fips, token=t, expect=200)
        c("nova floating ips no token", "GET", fips, expect=401)
        c("nova floating ip show", "GET", f"{fips}/{fip['id']}", token=t, expect=200)
        c("nova floating ip show as another", "GET", f"{fips}/{fip['id']}", token=bob, expect=404)
        c("nova floating ip removed in neutron", "DELETE", f"/network/v2.0/floatingips/{fip['id']}", token=t,
          expect=204)
        c("nova images", "GET", f"{base}/images", token=t, expect=200)
        c("nova images no token", "GET", f"{base}/images", expect=401)
        c("nova images detail", "GET", f"{base}/images/detail", token=t, expect=200)
        c("nova images detail no token", "GET", f"{base}/images/detail", expect=401)
        c("nova image show", "GET", f"{base}/images/{self.image_id}", token=t, expect=200)
        c("nova image show missing", "GET", f"{base}/images/{MISSING}", token=t, expect=404)

        hv = f"{base}/os-hypervisors"
        c("hypervisor statistics", "GET", f"{hv}/statistics", token=a, expect=200)
        c("hypervisor statistics as member", "GET", f"{hv}/statistics", token=t, expect=403)
        c("hypervisor search", "GET", f"{hv}/{HOST[:6]}/search", token=a, expect=200)
        c("hypervisor search missing", "GET", f"{hv}/no-such-host/search", token=a, expect=404)
        c("hypervisor servers", "GET", f"{hv}/{HOST}/servers", token=a, expect=200)
        c("hypervisor servers missing", "GET", f"{hv}/no-such-host/servers", token=a, expect=404)
        c("flavor page", "GET", f"{base}/flavors?limit=1", token=t, expect=200)
        c("flavor page bad limit", "GET", f"{base}/flavors?limit=x", token=t, expect=400)
        c("flavor page bad marker", "GET", f"{base}/flavors?marker=nope", token=t, expect=400)
        c("servers by host", "GET", f"{base}/servers?all_tenants=1&host={HOST}", token=a, expect=200)

    # ---- Keystone admin APIs (issue 15, item 8) --------------------------------------------------

    def keystone_admin_apis(self) -> None:
        c, a = self.call, self.admin
        base = "/identity/v3"
        svc = c("endpoint refs service list", "GET", f"{base}/services?type=identity", token=a,
                expect=200).json()["services"][0]["id"]
        c("endpoint create unknown region", "POST", f"{base}/endpoints", token=a, json={"endpoint": {
            "service_id": svc, "interface": "admin", "url": "https://x.example", "region_id": "NoSuchRegion"}},
          expect=400)
        c("endpoint create unknown service", "POST", f"{base}/endpoints", token=a, json={"endpoint": {
            "service_id": MISSING_HEX, "interface": "admin", "url": "https://x.example"}}, expect=400)
        c("json home", "GET", f"{base}", headers={"Accept": "application/json-home"}, expect=200)
        c("region put", "PUT", f"{base}/regions/GoldenPut", token=a, json={"region": {"description": "p"}},
          expect=201)
        c("region put conflicting id", "PUT", f"{base}/regions/GoldenOther", token=a,
          json={"region": {"id": "Else"}}, expect=400)
        c("region put delete", "DELETE", f"{base}/regions/GoldenPut", token=a, expect=204)

        roles = {r["name"]: r["id"] for r in c("admin apis role list", "GET", f"{base}/roles", token=a,
                                                 expect=200).json()["roles"]}
        prior = c("implied prior create", "POST", f"{base}/roles", token=a,
                  json={"role": {"name": "golden-prior"}}, expect=201).json()["role"]["id"]
        rule = f"{base}/roles/{prior}/implies/{roles['reader']}"
        c("implied role create", "PUT", rule, token=a, expect=201)
        c("implied role create prohibited", "PUT", f"{base}/roles/{prior}/implies/{roles['admin']}", token=a,
          expect=403)
        c("implied role show", "GET", rule, token=a, expect=200)
        c("implied role show missing", "GET", f"{base}/roles/{prior}/implies/{roles['admin']}", token=a, expect=404)
        c("implied role check", "HEAD", rule, token=a, expect=204)
        c("implied role check missing", "HEAD", f"{base}/roles/{prior}/implies/{MISSING_HEX}", token=a, expect=404)
        c("implied roles list", "GET", f"{base}/roles/{prior}/implies", token=a, expect=200)
        c("implied roles list missing", "GET", f"{base}/roles/{MISSING_HEX}/implies", token=a, expect=404)
        c("role inferences", "GET", f"{base}/role_inferences", token=a, expect=200)
        c("role inferences no token", "GET", f"{base}/role_inferences", expect=401)
        c("implied role delete", "DELETE", rule, token=a, expect=204)
        c("implied role delete again", "DELETE", rule, token=a, expect=404)
        c("implied prior delete", "DELETE", f"{base}/roles/{prior}", token=a, expect=204)

        project = c("tagged project create", "POST", f"{base}/projects", token=a,
                    json={"project": {"name": "golden-tags", "tags": ["one"]}}, expect=201).json()["project"]
        tags = f"{base}/projects/{project['id']}/tags"
        c("project tags list", "GET", tags, token=a, expect=200)
        c("project tags list missing", "GET", f"{base}/projects/{MISSING_HEX}/tags", token=a, expect=404)
        c("project tags replace", "PUT", tags, token=a, json={"tags": ["one", "two"]}, expect=200)
        c("project tags replace bad", "PUT", tags, token=a, json={"tags": ["a/b"]}, expect=400)
        c("project tag add", "PUT", f"{tags}/three", token=a, expect=201)
        c("project tag add bad", "PUT", f"{tags}/a,b", token=a, expect=400)
        c("project tag check", "GET", f"{tags}/three", token=a, expect=204)
        c("project tag check missing", "GET", f"{tags}/four", token=a, expect=404)
        c("project tag head", "HEAD", f"{tags}/three", token=a, expect=204)
        c("project tag head missing", "HEAD", f"{tags}/four", token=a, expect=404)
        c("project tag delete", "DELETE", f"{tags}/three", token=a, expect=204)
        c("project tag delete missing", "DELETE", f"{tags}/three", token=a, expect=404)
        c("projects by tag", "GET", f"{base}/projects?tags=one,two", token=a, expect=200)
        c("project tags delete", "DELETE", tags, token=a, expect=204)
        c("project tags delete missing", "DELETE", f"{base}/projects/{MISSING_HEX}/tags", token=a, expect=404)
        as_domain = c("project as domain create", "POST", f"{base}/projects", token=a,
                      json={"project": {"name": "golden-pd", "is_domain": True}}, expect=201).json()["project"]
        c("project as domain list", "GET", f"{base}/projects?is_domain=true", token=a, expect=200)
        c("project as domain disable", "PATCH", f"{base}/domains/{as_domain['id']}", token=a,
          json={"domain": {"enabled": False}}, expect=200)
        c("project as domain delete", "DELETE", f"{base}/domains/{as_domain['id']}", token=a, expect=204)
        c("project name too long", "POST", f"{base}/projects", token=a, json={"project": {"name": "x" * 65}},
          expect=400)
        c("user in missing domain", "POST", f"{base}/users", token=a,
          json={"user": {"name": "golden-nowhere", "domain_id": MISSING_HEX}}, expect=404)

        # OS-EP-FILTER, on the tagged project before it goes.
        ep = f"{base}/OS-EP-FILTER"
        listed = c("filter endpoint list", "GET", f"{base}/endpoints?interface=public", token=a,
                   expect=200).json()["endpoints"]
        endpoint = min(listed, key=lambda e: e["url"])["id"]  # the list's order is by random ids
        group = c("endpoint group create", "POST", f"{ep}/endpoint_groups", token=a, json={"endpoint_group": {
            "name": "golden-eg", "filters": {"interface": "public"}}}, expect=201).json()["endpoint_group"]
        c("endpoint group create bad filter", "POST", f"{ep}/endpoint_groups", token=a,
          json={"endpoint_group": {"name": "x", "filters": {"colour": "blue"}}}, expect=400)
        eg = f"{ep}/endpoint_groups/{group['id']}"
        missing_eg = f"{ep}/endpoint_groups/{MISSING_HEX}"
        c("endpoint group list", "GET", f"{ep}/endpoint_groups", token=a, expect=200)
        c("endpoint group list no token", "GET", f"{ep}/endpoint_groups", expect=401)
        c("endpoint group show", "GET", eg, token=a, expect=200)
        c("endpoint group show missing", "GET", missing_eg, token=a, expect=404)
        c("endpoint group head", "HEAD", eg, token=a, expect=200)
        c("endpoint group head missing", "HEAD", missing_eg, token=a, expect=404)
        c("endpoint group update", "PATCH", eg, token=a, json={"endpoint_group": {"description": "d"}}, expect=200)
        c("endpoint group update missing", "PATCH", missing_eg, token=a, json={"endpoint_group": {}}, expect=404)
        c("endpoint group endpoints", "GET", f"{eg}/endpoints", token=a, expect=200)
        c("endpoint group endpoints missing", "GET", f"{missing_eg}/endpoints", token=a, expect=404)
        c("endpoint group add project", "PUT", f"{eg}/projects/{project['id']}", token=a, expect=204)
        c("endpoint group add project missing", "PUT", f"{eg}/projects/{MISSING_HEX}", token=a, expect=404)
        c("endpoint group project show", "GET", f"{eg}/projects/{project['id']}", token=a, expect=200)
        c("endpoint group project show missing", "GET", f"{missing_eg}/projects/{project['id']}", token=a,
          expect=404)
        c("endpoint group project head", "HEAD", f"{eg}/projects/{project['id']}", token=a, expect=200)
        c("endpoint group project head missing", "HEAD", f"{eg}/projects/{MISSING_HEX}", token=a, expect=404)
        c("endpoint group projects", "GET", f"{eg}/projects", token=a, expect=200)
        c("endpoint group projects missing", "GET", f"{missing_eg}/projects", token=a, expect=404)
        c("project endpoint groups", "GET", f"{ep}/projects/{project['id']}/endpoint_groups", token=a, expect=200)
        c("project endpoint groups missing", "GET", f"{ep}/projects/{MISSING_HEX}/endpoint_groups", token=a,
          expect=404)
        c("endpoint group remove project", "DELETE", f"{eg}/projects/{project['id']}", token=a, expect=204)
        c("endpoint group remove project again", "DELETE", f"{eg}/projects/{project['id']}", token=a, expect=404)
        pe = f"{ep}/projects/{project['id']}/endpoints"
        c("project endpoint add", "PUT", f"{pe}/{endpoint}", token=a, expect=204)
        c("project endpoint add missing", "PUT", f"{pe}/{MISSING_HEX}", token=a, expect=404)
        c("project endpoint check", "GET", f"{pe}/{endpoint}", token=a, expect=204)
        c("project endpoint check missing", "GET", f"{pe}/{MISSING_HEX}", token=a, expect=404)
        c("project endpoint head", "HEAD", f"{pe}/{endpoint}", token=a, expect=204)
        c("project endpoint head missing", "HEAD", f"{pe}/{MISSING_HEX}", token=a, expect=404)
        c("project endpoints", "GET", pe, token=a, expect=200)
        c("project endpoints missing", "GET", f"{ep}/projects/{MISSING_HEX}/endpoints", token=a, expect=404)
        c("endpoint projects", "GET", f"{ep}/endpoints/{endpoint}/projects", token=a, expect=200)
        c("endpoint projects missing", "GET", f"{ep}/endpoints/{MISSING_HEX}/projects", token=a, expect=404)
        c("project endpoint remove", "DELETE", f"{pe}/{endpoint}", token=a, expect=204)
        c("project endpoint remove again", "DELETE", f"{pe}/{endpoint}", token=a, expect=404)
        c("endpoint group delete", "DELETE", eg, token=a, expect=204)
        c("endpoint group delete again", "DELETE", eg, token=a, expect=404)
        c("tagged project delete", "DELETE", f"{base}/projects/{project['id']}", token=a, expect=204)

        # Domain configuration: a stored document.
        dc = f"{base}/domains/default/config"
        c("domain config create", "PUT", dc, token=a, json={"config": {
            "identity": {"driver": "ldap"}, "ldap": {"url": "ldap://golden.example", "password": "p"}}}, expect=201)
        c("domain config create bad group", "PUT", dc, token=a, json={"config": {"nova": {"x": "y"}}}, expect=403)
        c("domain config show", "GET", dc, token=a, expect=200)
        c("domain config show missing domain", "GET", f"{base}/domains/{MISSING_HEX}/config", token=a, expect=404)
        c("domain config head", "HEAD", dc, token=a, expect=200)
        c("domain config head missing", "HEAD", f"{base}/domains/{MISSING_HEX}/config", token=a, expect=404)
        c("domain config group", "GET", f"{dc}/ldap", token=a, expect=200)
        c("domain config group bad", "GET", f"{dc}/nova", token=a, expect=403)
        c("domain config group head", "HEAD", f"{dc}/ldap", token=a, expect=200)
        c("domain config group head bad", "HEAD", f"{dc}/nova", token=a, expect=403)
        c("domain config option", "GET", f"{dc}/ldap/url", token=a, expect=200)
        c("domain config option missing", "GET", f"{dc}/ldap/user_tree_dn", token=a, expect=404)
        c("domain config option head", "HEAD", f"{dc}/ldap/url", token=a, expect=200)
        c("domain config option head missing", "HEAD", f"{dc}/ldap/suffix", token=a, expect=404)
        c("domain config update", "PATCH", dc, token=a, json={"config": {"ldap": {"suffix": "dc=golden"}}},
          expect=200)
        c("domain config update bad", "PATCH", dc, token=a, json={"config": {}}, expect=403)
        c("domain config group update", "PATCH", f"{dc}/ldap", token=a,
          json={"config": {"ldap": {"url": "ldaps://golden.example"}}}, expect=200)
        c("domain config group update missing", "PATCH", f"{dc}/identity", token=a,
          json={"config": {"ldap": {"url": "x"}}}, expect=403)
        c("domain config option update", "PATCH", f"{dc}/ldap/suffix", token=a,
          json={"config": {"suffix": "dc=other"}}, expect=200)
        c("domain config option update missing", "PATCH", f"{dc}/ldap/user_tree_dn", token=a,
          json={"config": {"user_tree_dn": "x"}}, expect=404)
        c("domain config option delete", "DELETE", f"{dc}/ldap/suffix", token=a, expect=204)
        c("domain config option delete again", "DELETE", f"{dc}/ldap/suffix", token=a, expect=404)
        c("domain config group delete", "DELETE", f"{dc}/identity", token=a, expect=204)
        c("domain config group delete again", "DELETE", f"{dc}/identity", token=a, expect=404)
        c("domain config delete", "DELETE", dc, token=a, expect=204)
        c("domain config delete again", "DELETE", dc, token=a, expect=404)
        c("domain config default", "GET", f"{base}/domains/config/default", token=a, expect=200)
        c("domain config default no token", "GET", f"{base}/domains/config/default", expect=401)
        c("domain config group default", "GET", f"{base}/domains/config/ldap/default", token=a, expect=200)
        c("domain config group default bad", "GET", f"{base}/domains/config/nova/default", token=a, expect=403)
        c("domain config option default", "GET", f"{base}/domains/config/ldap/url/default", token=a, expect=200)
        c("domain config option default bad", "GET", f"{base}/domains/config/ldap/password/default", token=a,
          expect=403)


def neutron_conformance(scenario: Scenario) -> None:
    """Issue 15, Neutron: bulk create, port filters by address, typed filter values, agents as a project user, an
    unknown remote group."""
    c, a, t = scenario.call, scenario.admin, scenario.alice_token
    base = "/network/v2.0"
    nets = c("n15 network bulk create", "POST", f"{base}/networks", token=t,
             json={"networks": [{"name": "golden-bulk-1"}, {"name": "golden-bulk-2"}]}, expect=201).json()["networks"]
    c("n15 network bulk create empty", "POST", f"{base}/networks", token=t, json={"networks": []}, expect=400)
    c("n15 network bulk create bad member", "POST", f"{base}/networks", token=t,
      json={"networks": [{"name": "ok"}, {"name": 5}]}, expect=400)
    c("n15 subnet bulk create", "POST", f"{base}/subnets", token=t, json={"subnets": [
        {"network_id": net["id"], "cidr": f"10.15{index}.0.0/24", "ip_version": 4, "enable_dhcp": False}
        for index, net in enumerate(nets)]}, expect=201)
    c("n15 subnet bulk create another's network", "POST", f"{base}/subnets", token=t, json={"subnets": [
        {"network_id": MISSING, "cidr": "10.159.0.0/24", "ip_version": 4}]}, expect=404)
    c("n15 port bulk create", "POST", f"{base}/ports", token=t, json={"ports": [
        {"network_id": nets[0]["id"], "fixed_ips": [{"ip_address": "10.150.0.5"}]},
        {"network_id": nets[0]["id"], "name": "second"}]}, expect=201)
    c("n15 port bulk create clash", "POST", f"{base}/ports", token=t, json={"ports": [
        {"network_id": nets[1]["id"], "fixed_ips": [{"ip_address": "10.151.0.9"}]},
        {"network_id": nets[1]["id"], "fixed_ips": [{"ip_address": "10.151.0.9"}]}]}, expect=409)
    c("n15 port list by fixed ip", "GET", f"{base}/ports?fixed_ips=ip_address%3D10.150.0.5", token=t, expect=200)
    c("n15 port list by fixed ip and substring", "GET",
      f"{base}/ports?fixed_ips=ip_address_substr%3D10.150&fixed_ips=ip_address%3D10.150.0.5", token=t, expect=200)
    c("n15 port list by malformed fixed ip", "GET", f"{base}/ports?fixed_ips=ip_address", token=t, expect=400)
    c("n15 subnet list by ip version", "GET", f"{base}/subnets?ip_version=4&network_id={nets[0]['id']}", token=t,
      expect=200)
    c("n15 subnet list by ip version seven", "GET", f"{base}/subnets?ip_version=seven", token=t, expect=400)
    c("n15 network list shared maybe", "GET", f"{base}/networks?shared=maybe", token=t, expect=400)
    c("n15 network create segment as text", "POST", f"{base}/networks", token=a, json={"network": {
        "name": "golden-segment", "project_id": scenario.project_a["id"], "provider:network_type": "vxlan",
        "provider:segmentation_id": "4242"}}, expect=201)
    c("n15 network create segment not a number", "POST", f"{base}/networks", token=a, json={"network": {
        "project_id": scenario.project_a["id"], "provider:segmentation_id": "four"}}, expect=400)
    c("n15 agent list as member", "GET", f"{base}/agents?agent_type=DHCP+agent", token=t, expect=200)
    c("n15 agent list no token", "GET", f"{base}/agents", expect=401)
    c("n15 agent list bad limit", "GET", f"{base}/agents?limit=x", token=a, expect=400)
    c("n15 agent show as member", "GET", f"{base}/agents/{MISSING}", token=t, expect=404)
    group = c("n15 security group create", "POST", f"{base}/security-groups", token=t,
              json={"security_group": {"name": "golden-n15"}}, expect=201).json()["security_group"]
    c("n15 rule with unknown remote group", "POST", f"{base}/security-group-rules", token=t,
      json={"security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                    "remote_group_id": "not-a-group"}}, expect=404)
    ext = c("n15 external network create", "POST", f"{base}/networks", token=a, json={"network": {
        "name": "golden-n15-public", "project_id": scenario.project_b["id"], "router:external": True}},
        expect=201).json()["network"]
    c("n15 external subnet create", "POST", f"{base}/subnets", token=a, json={"subnet": {
        "network_id": ext["id"], "project_id": scenario.project_b["id"], "cidr": "172.24.15.0/24", "ip_version": 4,
        "enable_dhcp": False}}, expect=201)
    c("n15 floating ip create", "POST", f"{base}/floatingips", token=t,
      json={"floatingip": {"floating_network_id": ext["id"]}}, expect=201)
    c("n15 external network delete as member", "DELETE", f"{base}/networks/{ext['id']}", token=t, expect=403)
    c("n15 external network delete with unused floating ip", "DELETE", f"{base}/networks/{ext['id']}", token=a,
      expect=204)
    c("n15 floating ips after", "GET", f"{base}/floatingips?floating_network_id={ext['id']}", token=t, expect=200)


def nova_lifecycle(scenario: Scenario) -> None:
    """Issue 15 item 11: rebuild, lock / unlock, os-resetState, multiple create by reservation, disk config,
    os-server-password (and the guest's post of it), hypervisor uptime. Its own image and servers, played last."""
    c, a, t, bob, h = scenario.call, scenario.admin, scenario.alice_token, scenario.bob_token, scenario.host_token
    made = c("lifecycle image create", "POST", "/image/v2/images", token=t,
             json={"name": "golden-lifecycle", "disk_format": "qcow2", "container_format": "bare"},
             expect=201).json()
    c("lifecycle image upload", "PUT", f"/image/v2/images/{made['id']}/file", token=t,
      content=gzip.decompress(IMAGE.read_bytes()), headers={"Content-Type": "application/octet-stream"}, expect=204)
    base = "/compute/v2.1/servers"
    created = c("lifecycle server create", "POST", base, token=t, json={"server": {
        "name": "golden-lifecycle", "imageRef": made["id"], "flavorRef": "1", "adminPass": "golden-pass-1",
        "OS-DCF:diskConfig": "AUTO", "networks": "none"}}, expect=202).json()["server"]
    sid = created["id"]
    action, observed = f"{base}/{sid}/action", f"/internal/v1/instances/{sid}/observed"
    c("lifecycle server observed running", "PUT", observed, token=h, json={"power": "running"}, expect=200)
    c("lifecycle server show", "GET", f"{base}/{sid}", token=t, expect=200)

    c("lifecycle lock", "POST", action, token=t, json={"lock": None}, expect=202)
    c("lifecycle lock as another", "POST", action, token=bob, json={"lock": None}, expect=404)
    c("lifecycle lock with reason at 2.1", "POST", action, token=t, json={"lock": {"locked_reason": "x"}},
      expect=400)
    c("lifecycle stop while locked", "POST", action, token=t, json={"os-stop": None}, expect=409)
    c("lifecycle delete while locked", "DELETE", f"{base}/{sid}", token=t, expect=409)
    c("lifecycle unlock as another", "POST", action, token=bob, json={"unlock": None}, expect=404)
    c("lifecycle unlock", "POST", action, token=t, json={"unlock": None}, expect=202)
    c("lifecycle lock by admin", "POST", action, token=a, json={"lock": None}, expect=202)
    c("lifecycle unlock admin's lock", "POST", action, token=t, json={"unlock": None}, expect=403)
    c("lifecycle unlock by admin", "POST", action, token=a, json={"unlock": None}, expect=202)

    c("lifecycle rebuild", "POST", action, token=t, json={"rebuild": {
        "imageRef": made["id"], "name": "golden-rebuilt", "metadata": {"v": "2"}, "adminPass": "golden-pass-2",
        "OS-DCF:diskConfig": "MANUAL"}}, expect=202)
    c("lifecycle rebuild while rebuilding", "POST", action, token=t, json={"rebuild": {"imageRef": made["id"]}},
      expect=409)
    c("lifecycle rebuild observed before the rebuild", "PUT", observed, token=h, json={"power": "running"},
      expect=200)
    c("lifecycle rebuild still rebuilding", "GET", f"{base}/{sid}", token=t, expect=200)
    c("lifecycle rebuild observed done", "PUT", observed, token=h, json={"power": "running", "rebuild_seq": 1},
      expect=200)
    c("lifecycle rebuild missing image", "POST", action, token=t, json={"rebuild": {"imageRef": MISSING}},
      expect=400)
    c("lifecycle rebuild bad body", "POST", action, token=t, json={"rebuild": {"name": "x"}}, expect=400)
    c("lifecycle rebuild key_name at 2.1", "POST", action, token=t,
      json={"rebuild": {"imageRef": made["id"], "key_name": "golden-key"}}, expect=400)
    c("lifecycle rebuild as another", "POST", action, token=bob, json={"rebuild": {"imageRef": made["id"]}},
      expect=404)
    c("lifecycle rebuilt show", "GET", f"{base}/{sid}", token=t, expect=200)

    c("lifecycle reset state as member", "POST", action, token=t, json={"os-resetState": {"state": "error"}},
      expect=403)
    c("lifecycle reset state bad", "POST", action, token=a, json={"os-resetState": {"state": "paused"}},
      expect=400)
    c("lifecycle reset state missing server", "POST", f"{base}/{MISSING}/action", token=a,
      json={"os-resetState": {"state": "error"}}, expect=404)
    c("lifecycle reset state", "POST", action, token=a, json={"os-resetState": {"state": "error"}}, expect=202)
    c("lifecycle reset state show", "GET", f"{base}/{sid}", token=t, expect=200)
    c("lifecycle reset state active", "POST", action, token=a, json={"os-resetState": {"state": "active"}},
      expect=202)
    c("lifecycle actions", "GET", f"{base}/{sid}/os-instance-actions", token=t, expect=200)

    password = f"{base}/{sid}/os-server-password"
    key = (scenario.server.data_dir / "metadata-secret").read_bytes()
    guest = {"X-Instance-ID": sid, "X-Tenant-ID": scenario.project_a["id"],
             "X-Instance-ID-Signature": hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()}
    c("lifecycle password empty", "GET", password, token=t, expect=200)
    c("lifecycle metadata password too large", "POST", "/metadata/openstack/latest/password", headers=guest,
      content=b"x" * 1021, expect=400)
    c("lifecycle metadata password post", "POST", "/metadata/openstack/latest/password", headers=guest,
      content=b"Z29sZGVu", expect=200)
    c("lifecycle metadata password post again", "POST", "/metadata/openstack/latest/password", headers=guest,
      content=b"b3RoZXI=", expect=409)
    c("lifecycle metadata password read", "GET", "/metadata/openstack/latest/password", headers=guest, expect=200)
    c("lifecycle password show", "GET", password, token=t, expect=200)
    c("lifecycle password show as another", "GET", password, token=bob, expect=404)
    c("lifecycle password clear as another", "DELETE", password, token=bob, expect=404)
    c("lifecycle password clear", "DELETE", password, token=t, expect=204)
    c("lifecycle password cleared", "GET", password, token=t, expect=200)
    c("lifecycle password no token", "GET", password, expect=401)

    reserved = c("lifecycle multiple create", "POST", base, token=t, json={"server": {
        "name": "golden-many", "imageRef": made["id"], "flavorRef": "1", "min_count": 2, "max_count": 2,
        "networks": "none", "return_reservation_id": True}}, expect=202).json()
    scenario.rec.normaliser.literal(reserved["reservation_id"], "<reservation-id>")
    c("lifecycle list by reservation", "GET", f"{base}/detail?reservation_id={reserved['reservation_id']}",
      token=t, expect=200)
    c("lifecycle list by reservation as another", "GET", f"{base}?reservation_id={reserved['reservation_id']}",
      token=bob, expect=200)
    c("lifecycle multiple create min over max", "POST", base, token=t, json={"server": {
        "name": "x", "imageRef": made["id"], "flavorRef": "1", "min_count": 3, "max_count": 2}}, expect=400)

    hypervisors = c("lifecycle hypervisors", "GET", "/compute/v2.1/os-hypervisors", token=a,
                    expect=200).json()["hypervisors"]
    ours = next(hv for hv in hypervisors if hv["hypervisor_hostname"] == HOST)
    c("lifecycle hypervisor uptime", "GET", f"/compute/v2.1/os-hypervisors/{ours['id']}/uptime", token=a,
      expect=200)
    c("lifecycle hypervisor uptime missing", "GET", "/compute/v2.1/os-hypervisors/999/uptime", token=a,
      expect=404)
    c("lifecycle hypervisor uptime as member", "GET", f"/compute/v2.1/os-hypervisors/{ours['id']}/uptime",
      token=t, expect=403)
    c("aggregates", "GET", "/compute/v2.1/os-aggregates", token=a, expect=200)
    c("aggregates as member", "GET", "/compute/v2.1/os-aggregates", token=t, expect=403)


def key_manager(scenario: Scenario) -> None:
    """Issue 16, deliverable 1: Barbican v1 at /key-manager (alice stores and shares, bob is another project)."""
    c, t, bob = scenario.call, scenario.alice_token, scenario.bob_token
    base = "/key-manager/v1"
    v11 = {"OpenStack-API-Version": "key-manager 1.1"}
    bad_version = {"OpenStack-API-Version": "key-manager 9.9"}
    for path in ("/key-manager/", "/key-manager/v1", "/key-manager/v1/"):
        c(f"km versions {path}", "GET", path, expect=(200, 300))
        c(f"km versions {path} 1.1", "GET", path, headers=v11, expect=(200, 300))
        c(f"km versions {path} bad microversion", "GET", path, headers=bad_version, expect=406)
    stored = c("km secret store", "POST", f"{base}/secrets", token=t, headers=v11, json={
        "name": "golden-secret", "payload": "golden payload", "payload_content_type": "text/plain",
        "secret_type": "passphrase", "expiration": "2999-01-01T00:00:00Z"}, expect=201).json()
    secret = f"{base}/secrets/{stored['secret_ref'].rsplit('/', 1)[1]}"
    c("km secret store no token", "POST", f"{base}/secrets", json={"name": "x"}, expect=401)
    c("km secret store too big", "POST", f"{base}/secrets", token=t, json={
        "payload": "x" * 10001, "payload_content_type": "text/plain"}, expect=413)
    c("km secret store not base64", "POST", f"{base}/secrets", token=t, json={
        "payload": "%%%", "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"},
      expect=400)
    c("km secret store unknown type", "POST", f"{base}/secrets", token=t, json={
        "payload": "x", "payload_content_type": "image/png"}, expect=400)
    c("km secret store expired", "POST", f"{base}/secrets", token=t, json={
        "payload": "x", "payload_content_type": "text/plain", "expiration": "2001-01-01T00:00:00"}, expect=400)
    empty = c("km secret store empty slash", "POST", f"{base}/secrets/", token=t, json={"name": "golden-empty"},
              expect=201).json()
    filled = f"{base}/secrets/{empty['secret_ref'].rsplit('/', 1)[1]}"
    c("km secret store slash not json", "POST", f"{base}/secrets/", token=t, content=b"name=x",
      headers={"Content-Type": "application/x-www-form-urlencoded"}, expect=415)
    c("km secret list", "GET", f"{base}/secrets?limit=1", token=t, headers=v11, expect=200)
    c("km secret list page two", "GET", f"{base}/secrets?limit=1&offset=1&name=golden-empty", token=t, expect=200)
    c("km secret list no token", "GET", f"{base}/secrets", expect=401)
    c("km secret list slash", "GET", f"{base}/secrets/", token=t, expect=200)
    c("km secret list slash as system admin", "GET", f"{base}/secrets/", token=scenario.admin, expect=403)
    c("km secret show", "GET", secret, token=t, headers=v11, expect=200)
    c("km secret show 1.0", "GET", secret, token=t, expect=200)
    c("km secret show as another project", "GET", secret, token=bob, expect=404)
    c("km secret show not a uuid", "GET", f"{base}/secrets/not-a-uuid", token=t, expect=404)
    c("km secret payload", "GET", f"{secret}/payload", token=t, headers={"Accept": "text/plain"}, expect=200)
    c("km secret payload as another project", "GET", f"{secret}/payload", token=bob, expect=404)
    c("km secret payload as json", "GET", f"{secret}/payload", token=t, headers={"Accept": "application/json"},
      expect=406)
    c("km secret put payload", "PUT", filled, token=t, content=b"filled later",
      headers={"Content-Type": "text/plain"}, expect=204)
    c("km secret put payload again", "PUT", filled, token=t, content=b"twice",
      headers={"Content-Type": "text/plain"}, expect=409)
    c("km secret put payload json", "PUT", filled, token=t, json={"payload": "x"}, expect=415)
    c("km acl show default", "GET", f"{secret}/acl", token=t, expect=200)
    c("km acl show as another project", "GET", f"{secret}/acl", token=bob, expect=404)
    c("km acl set", "PUT", f"{secret}/acl", token=t, json={"read": {"users": [scenario.bob["id"]],
                                                                    "project-access": True}}, expect=200)
    c("km acl set bad operation", "PUT", f"{secret}/acl", token=t, json={"write": {"users": []}}, expect=400)
    c("km acl change", "PATCH", f"{secret}/acl", token=t, json={"read": {"project-access": False}}, expect=200)
    c("km acl change as another project", "PATCH", f"{filled}/acl", token=bob, json={"read": {"users": []}},
      expect=404)
    c("km acl show set", "GET", f"{secret}/acl", token=t, expect=200)
    c("km secret payload as acl user", "GET", f"{secret}/payload", token=bob, headers={"Accept": "text/plain"},
      expect=200)
    c("km acl delete", "DELETE", f"{secret}/acl", token=t, expect=200)
    c("km acl delete as another project", "DELETE", f"{secret}/acl", token=bob, expect=404)
    meta = f"{secret}/metadata"
    c("km metadata replace", "PUT", meta, token=t, json={"metadata": {"Env": "golden", "tier": "one"}}, expect=201)
    c("km metadata replace bad key", "PUT", meta, token=t, json={"metadata": {"a b": "x"}}, expect=400)
    c("km metadata show", "GET", meta, token=t, expect=200)
    c("km metadata show as another project", "GET", meta, token=bob, expect=404)
    c("km metadatum add", "POST", meta, token=t, json={"key": "owner", "value": "alice"}, expect=201)
    c("km metadatum add again", "POST", meta, token=t, json={"key": "owner", "value": "bob"}, expect=409)
    c("km metadatum show", "GET", f"{meta}/owner", token=t, expect=200)
    c("km metadatum show missing", "GET", f"{meta}/nothing", token=t, expect=404)
    c("km metadatum update", "PUT", f"{meta}/owner", token=t, json={"key": "owner", "value": "carol"}, expect=200)
    c("km metadatum update other key", "PUT", f"{meta}/owner", token=t, json={"key": "tier", "value": "x"},
      expect=409)
    c("km metadatum delete", "DELETE", f"{meta}/owner", token=t, expect=204)
    c("km metadatum delete again", "DELETE", f"{meta}/owner", token=t, expect=404)
    order = c("km order create", "POST", f"{base}/orders", token=t, json={"type": "key", "meta": {
        "name": "golden-key", "algorithm": "aes", "bit_length": 256, "mode": "cbc",
        "payload_content_type": "application/octet-stream"}}, expect=202).json()
    order_path = f"{base}/orders/{order['order_ref'].rsplit('/', 1)[1]}"
    c("km order create bad bit length", "POST", f"{base}/orders", token=t, json={"type": "key", "meta": {
        "algorithm": "aes", "bit_length": 100}}, expect=400)
    c("km order create slash", "POST", f"{base}/orders/", token=t, json={"type": "key", "meta": {
        "algorithm": "aes", "bit_length": 128}}, expect=202)
    c("km order create slash asymmetric", "POST", f"{base}/orders/", token=t, json={"type": "asymmetric", "meta": {
        "algorithm": "rsa", "bit_length": 2048}}, expect=400)
    c("km order list", "GET", f"{base}/orders", token=t, expect=200)
    c("km order list no token", "GET", f"{base}/orders", expect=401)
    c("km order list slash", "GET", f"{base}/orders/", token=t, expect=200)
    c("km order list slash no token", "GET", f"{base}/orders/", expect=401)
    c("km order show", "GET", order_path, token=t, expect=200)
    c("km order show as another project", "GET", order_path, token=bob, expect=404)
    c("km order delete", "DELETE", order_path, token=t, expect=204)
    c("km order delete again", "DELETE", order_path, token=t, expect=404)
    c("km secret delete as another project", "DELETE", secret, token=bob, expect=404)
    c("km secret delete", "DELETE", secret, token=t, expect=204)
    c("km secret delete again", "DELETE", secret, token=t, expect=404)
    certificate = secret.replace("/secrets/", "/deletion-certificates/")
    c("km deletion certificate", "GET", certificate, token=t, expect=200)
    c("km deletion certificate as another project", "GET", certificate, token=bob, expect=404)
    c("km secret delete filled", "DELETE", filled, token=t, expect=204)


def compute_microversions(scenario: Scenario) -> None:
    """Issue 15 item 10: the routes later microversions bring (server tags 2.26, flavor update 2.55), each once
    served and once refused; its own image and server, played last so that no earlier step's ids move."""
    c, a, t, bob = scenario.call, scenario.admin, scenario.alice_token, scenario.bob_token
    v226, v255 = {"OpenStack-API-Version": "compute 2.26"}, {"OpenStack-API-Version": "compute 2.55"}
    made = c("mv image create", "POST", "/image/v2/images", token=t,
             json={"name": "golden-mv", "disk_format": "qcow2", "container_format": "bare"}, expect=201).json()
    c("mv image upload", "PUT", f"/image/v2/images/{made['id']}/file", token=t,
      content=gzip.decompress(IMAGE.read_bytes()), headers={"Content-Type": "application/octet-stream"}, expect=204)
    base = "/compute/v2.1/servers"
    c("mv server create without networks", "POST", base, token=t, headers={"OpenStack-API-Version": "compute 2.37"},
      json={"server": {"name": "golden-mv", "imageRef": made["id"], "flavorRef": "1"}}, expect=400)
    created = c("mv server create tagged", "POST", base, token=t, headers={"OpenStack-API-Version": "compute 2.90"},
                json={"server": {"name": "golden-mv", "imageRef": made["id"], "flavorRef": "1", "networks": "none",
                                 "tags": ["golden"], "description": "tagged", "hostname": "golden-mv"}},
                expect=202).json()["server"]
    scenario.rec.normaliser.literal(created.get("adminPass", ""), "<admin-pass-mv>")
    s = f"{base}/{created['id']}"
    c("mv server show 2.90", "GET", s, token=t, headers={"OpenStack-API-Version": "compute 2.90"}, expect=200)
    c("mv server update description", "PUT", s, token=t, headers={"OpenStack-API-Version": "compute 2.19"},
      json={"server": {"description": "changed"}}, expect=200)
    c("mv server update description at 2.1", "PUT", s, token=t, json={"server": {"description": "x"}}, expect=400)
    c("mv server tags list", "GET", f"{s}/tags", token=t, headers=v226, expect=200)
    c("mv server tags list before 2.26", "GET", f"{s}/tags", token=t, expect=404)
    c("mv server tags list as another", "GET", f"{s}/tags", token=bob, headers=v226, expect=404)
    c("mv server tags replace", "PUT", f"{s}/tags", token=t, headers=v226, json={"tags": ["a", "b"]}, expect=200)
    c("mv server tags replace bad", "PUT", f"{s}/tags", token=t, headers=v226, json={"tags": ["a/b"]}, expect=400)
    c("mv server tag add", "PUT", f"{s}/tags/c", token=t, headers=v226, expect=201)
    c("mv server tag add again", "PUT", f"{s}/tags/c", token=t, headers=v226, expect=204)
    c("mv server tag add as another", "PUT", f"{s}/tags/d", token=bob, headers=v226, expect=404)
    c("mv server tag check", "GET", f"{s}/tags/c", token=t, headers=v226, expect=204)
    c("mv server tag check missing", "GET", f"{s}/tags/zz", token=t, headers=v226, expect=404)
    c("mv server list by tags", "GET", f"{base}?tags=a,c", token=t, headers=v226, expect=200)
    c("mv server list unknown param 2.75", "GET", f"{base}?bogus=1", token=t,
      headers={"OpenStack-API-Version": "compute 2.75"}, expect=400)
    c("mv server tag delete", "DELETE", f"{s}/tags/c", token=t, headers=v226, expect=204)
    c("mv server tag delete missing", "DELETE", f"{s}/tags/c", token=t, headers=v226, expect=404)
    c("mv server tags delete all", "DELETE", f"{s}/tags", token=t, headers=v226, expect=204)
    c("mv server tags delete all as another", "DELETE", f"{s}/tags", token=bob, headers=v226, expect=404)
    c("mv flavor update", "PUT", "/compute/v2.1/flavors/1", token=a, headers=v255,
      json={"flavor": {"description": "golden"}}, expect=200)
    c("mv flavor update before 2.55", "PUT", "/compute/v2.1/flavors/1", token=a,
      json={"flavor": {"description": "golden"}}, expect=404)
    c("mv flavor update as member", "PUT", "/compute/v2.1/flavors/1", token=t, headers=v255,
      json={"flavor": {"description": "x"}}, expect=403)
    c("mv flavor update back", "PUT", "/compute/v2.1/flavors/1", token=a, headers=v255,
      json={"flavor": {"description": None}}, expect=200)
    c("mv server delete", "DELETE", s, token=t, expect=204)
    c("mv image delete", "DELETE", f"/image/v2/images/{made['id']}", token=t, expect=204)


def block_storage(scenario: Scenario) -> None:
    """Issue 16, deliverable 2 (control plane): Cinder v3 at /volume (alice's project; bob is another project)."""
    c, t, bob = scenario.call, scenario.alice_token, scenario.bob_token
    base = f"/volume/v3/{scenario.project_a['id']}"
    bad_version = {"OpenStack-API-Version": "volume 3.999"}
    # The scenario's host is live and runs a volume agent (its first read of its volumes): volumes land on it.
    c("volume host heartbeat", "POST", f"/internal/v1/hosts/{HOST}", token=scenario.host_token, json=CAPACITY,
      expect=200)
    c("volume host first read", "GET", f"/internal/v1/hosts/{HOST}/volumes", token=scenario.host_token, expect=200)
    for path in ("/volume/", "/volume/v3", "/volume/v3/"):
        c(f"cinder versions {path}", "GET", path, expect=(200, 300))
        c(f"cinder versions {path} bad microversion", "GET", path, headers=bad_version, expect=406)
    made = c("cinder volume create", "POST", f"{base}/volumes", token=t, json={"volume": {
        "size": 1, "name": "golden-vol", "description": "d", "metadata": {"tier": "gold"}}}, expect=202).json()
    volume = f"{base}/volumes/{made['volume']['id']}"
    c("cinder volume create size 0", "POST", f"{base}/volumes", token=t, json={"volume": {"size": 0}}, expect=400)
    c("cinder volume create over quota", "POST", f"{base}/volumes", token=t, json={"volume": {"size": 5000}},
      expect=413)
    c("cinder volume list", "GET", f"{base}/volumes?sort=name:asc&limit=5", token=t, expect=200)
    c("cinder volume list as another project", "GET", f"{base}/volumes", token=bob, expect=404)
    c("cinder volume list detail", "GET", f"{base}/volumes/detail?metadata={{'tier':'gold'}}", token=t, expect=200)
    c("cinder volume list detail bad sort", "GET", f"{base}/volumes/detail?sort=size:sideways", token=t, expect=400)
    c("cinder volume show", "GET", volume, token=t, expect=200)
    c("cinder volume show as another project", "GET", volume, token=bob, expect=404)
    c("cinder volume update", "PUT", volume, token=t, json={"volume": {"name": "golden-vol-2"}}, expect=200)
    c("cinder volume update empty", "PUT", volume, token=t, json={"volume": {}}, expect=400)
    c("cinder volume metadata", "GET", f"{volume}/metadata", token=t, expect=200)
    c("cinder volume metadata as another project", "GET", f"{volume}/metadata", token=bob, expect=404)
    c("cinder volume metadata merge", "POST", f"{volume}/metadata", token=t, json={"metadata": {"a": "b"}},
      expect=200)
    c("cinder volume metadata merge bad", "POST", f"{volume}/metadata", token=t, json={"metadata": {"a": 1}},
      expect=400)
    c("cinder volume metadata replace", "PUT", f"{volume}/metadata", token=t, json={"metadata": {"x": "y"}},
      expect=200)
    c("cinder volume metadata replace bad", "PUT", f"{volume}/metadata", token=t, json={"meta": {}}, expect=400)
    c("cinder volume metadata delete key", "DELETE", f"{volume}/metadata/x", token=t, expect=200)
    c("cinder volume metadata delete missing key", "DELETE", f"{volume}/metadata/x", token=t, expect=404)
    c("cinder type list", "GET", f"{base}/types", token=t, expect=200)
    c("cinder type list as another project", "GET", f"{base}/types", token=bob, expect=404)
    c("cinder type show default", "GET", f"{base}/types/default", token=t, expect=200)
    c("cinder type show missing", "GET", f"{base}/types/{MISSING_HEX}", token=t, expect=404)
    c("cinder availability zones", "GET", f"{base}/os-availability-zone", token=t, expect=200)
    c("cinder availability zones as another project", "GET", f"{base}/os-availability-zone", token=bob,
      expect=404)
    c("cinder quota show", "GET", f"{base}/os-quota-sets/{scenario.project_a['id']}?usage=true", token=t,
      expect=200)
    c("cinder quota show another project", "GET", f"{base}/os-quota-sets/{scenario.project_b['id']}", token=t,
      expect=404)
    c("cinder quota set", "PUT", f"{base}/os-quota-sets/{scenario.project_b['id']}", token=scenario.admin,
      json={"quota_set": {"volumes": 5}}, expect=200)
    c("cinder quota set as member", "PUT", f"{base}/os-quota-sets/{scenario.project_a['id']}", token=t,
      json={"quota_set": {"volumes": 50}}, expect=403)
    c("cinder limits", "GET", f"{base}/limits", token=t, expect=200)
    c("cinder limits as another project", "GET", f"{base}/limits", token=bob, expect=404)
    for suffix in ("", "/"):
        c(f"cinder versions /volume/v3/project{suffix}", "GET", f"{base}{suffix}", expect=200)
        c(f"cinder versions /volume/v3/project{suffix} bad microversion", "GET", f"{base}{suffix}",
          headers=bad_version, expect=406)
    c("cinder volumes without project", "GET", "/volume/v3/volumes", token=t, expect=200)
    admin = scenario.admin
    made_type = c("cinder type create", "POST", f"{base}/types", token=admin, json={"volume_type": {
        "name": "golden-plain", "description": "unencrypted"}}, expect=200).json()["volume_type"]
    vtype = f"{base}/types/{made_type['id']}"
    c("cinder type create as member", "POST", f"{base}/types", token=t, json={"volume_type": {"name": "x"}},
      expect=403)
    c("cinder type encryption none", "GET", f"{vtype}/encryption", token=t, expect=200)
    c("cinder type encryption missing type", "GET", f"{base}/types/{MISSING_HEX}/encryption", token=t, expect=404)
    enc = c("cinder type encryption create", "POST", f"{vtype}/encryption", token=admin, json={"encryption": {
        "provider": "luks", "cipher": "aes-xts-plain64", "key_size": 512, "control_location": "front-end"}},
        expect=200).json()["encryption"]
    c("cinder type encryption create bad cipher", "POST", f"{vtype}/encryption", token=admin, json={
        "encryption": {"provider": "luks", "cipher": "des"}}, expect=400)
    c("cinder type encryption delete", "DELETE", f"{vtype}/encryption/{enc['encryption_id']}", token=admin,
      expect=202)
    c("cinder type encryption delete again", "DELETE", f"{vtype}/encryption/{enc['encryption_id']}", token=admin,
      expect=404)
    c("cinder type delete as member", "DELETE", vtype, token=t, expect=403)
    c("cinder type delete", "DELETE", vtype, token=admin, expect=202)
    c("cinder volume delete as another project", "DELETE", volume, token=bob, expect=404)
    c("cinder volume delete", "DELETE", volume, token=t, expect=202)


def volume_agent(scenario: Scenario) -> None:
    """Issue 16, the volume agent's internal API: the scenario plays the host's volume agent (alice's project)."""
    c, t, h, bob = scenario.call, scenario.alice_token, scenario.host_token, scenario.bob_token
    base, internal = f"/volume/v3/{scenario.project_a['id']}", f"/internal/v1/hosts/{HOST}"
    image = c("volume agent image create", "POST", "/image/v2/images", token=t, json={
        "name": "golden-volume-source", "disk_format": "raw", "container_format": "bare"}, expect=201).json()
    c("volume agent image upload", "PUT", f"/image/v2/images/{image['id']}/file", token=t, content=b"\x01" * 4096,
      headers={"Content-Type": "application/octet-stream"}, expect=204)
    c("cinder volume create from an unknown image", "POST", f"{base}/volumes", token=t,
      json={"volume": {"size": 1, "imageRef": MISSING}}, expect=400)
    c("cinder volume create from an image of another project", "POST",
      f"/volume/v3/{scenario.project_b['id']}/volumes", token=bob,
      json={"volume": {"size": 1, "imageRef": image["id"]}}, expect=400)
    made = c("cinder volume create from image", "POST", f"{base}/volumes", token=t,
             json={"volume": {"size": 1, "name": "golden-from-image", "imageRef": image["id"]}},
             expect=202).json()["volume"]
    vid = made["id"]
    c("host desired volumes", "GET", f"{internal}/volumes", token=h, expect=200)
    c("host desired volumes other host", "GET", "/internal/v1/hosts/not-mine/volumes", token=h, expect=403)
    key = c("host volume key", "GET", f"{internal}/volumes/{vid}/key", token=h, expect=200).json()["key"]
    scenario.rec.normaliser.literal(key, "<volume-key>")
    c("host volume key missing", "GET", f"{internal}/volumes/{MISSING}/key", token=h, expect=404)
    c("host volume image", "GET", f"{internal}/volumes/{vid}/image", token=h, expect=200)
    c("host volume image missing", "GET", f"{internal}/volumes/{MISSING}/image", token=h, expect=404)
    observed = f"/internal/v1/volumes/{vid}/observed"
    c("volume observed available", "PUT", observed, token=h, json={"status": "available"}, expect=200)
    c("volume observed bad body", "PUT", observed, token=h, json={"status": "sleeping"}, expect=400)
    c("volume observed missing", "PUT", f"/internal/v1/volumes/{MISSING}/observed", token=h,
      json={"status": "available"}, expect=404)
    c("cinder volume show available", "GET", f"{base}/volumes/{vid}", token=t, expect=200)
    c("cinder volume delete to deleting", "DELETE", f"{base}/volumes/{vid}", token=t, expect=202)
    c("cinder volume show deleting", "GET", f"{base}/volumes/{vid}", token=t, expect=200)
    c("cinder volume delete while deleting", "DELETE", f"{base}/volumes/{vid}", token=t, expect=400)
    c("volume observed gone", "PUT", observed, token=h, json={"status": "gone"}, expect=200)
    c("cinder volume show gone", "GET", f"{base}/volumes/{vid}", token=t, expect=404)
    c("volume deletion certificate", "GET", f"/key-manager/v1/deletion-certificates/{vid}", token=t, expect=200)
    c("volume deletion certificate as another project", "GET", f"/key-manager/v1/deletion-certificates/{vid}",
      token=bob, expect=404)
    c("volume agent image delete", "DELETE", f"/image/v2/images/{image['id']}", token=t, expect=204)


def volume_transfers(scenario: Scenario) -> None:
    """Issue 16, volume transfers: alice offers a volume (made available by the scenario's host), bob takes it."""
    c, t, h, bob = scenario.call, scenario.alice_token, scenario.host_token, scenario.bob_token
    base, bob_base = f"/volume/v3/{scenario.project_a['id']}", f"/volume/v3/{scenario.project_b['id']}"
    vid = c("transfer volume create", "POST", f"{base}/volumes", token=t,
            json={"volume": {"size": 1, "name": "golden-gift"}}, expect=202).json()["volume"]["id"]
    c("transfer volume observed available", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "available"}, expect=200)
    offer = c("cinder transfer create", "POST", f"{base}/os-volume-transfer", token=t,
              json={"transfer": {"volume_id": vid, "name": "golden-transfer"}}, expect=202).json()["transfer"]
    scenario.rec.normaliser.literal(offer["auth_key"], "<auth-key>")
    transfer = f"{base}/os-volume-transfer/{offer['id']}"
    c("cinder transfer create again", "POST", f"{base}/os-volume-transfer", token=t,
      json={"transfer": {"volume_id": vid}}, expect=400)
    c("cinder transfer list", "GET", f"{base}/os-volume-transfer", token=t, expect=200)
    c("cinder transfer list as another project", "GET", f"{base}/os-volume-transfer", token=bob, expect=404)
    c("cinder transfer list detail", "GET", f"{base}/os-volume-transfer/detail", token=t, expect=200)
    c("cinder transfer list detail as another project", "GET", f"{base}/os-volume-transfer/detail", token=bob,
      expect=404)
    c("cinder transfer show", "GET", transfer, token=t, expect=200)
    c("cinder transfer show as another project", "GET", f"{bob_base}/os-volume-transfer/{offer['id']}", token=bob,
      expect=404)
    c("cinder transfer accept wrong key", "POST", f"{bob_base}/os-volume-transfer/{offer['id']}/accept", token=bob,
      json={"accept": {"auth_key": "0" * 16}}, expect=400)
    c("cinder transfer accept", "POST", f"{bob_base}/os-volume-transfer/{offer['id']}/accept", token=bob,
      json={"accept": {"auth_key": offer["auth_key"]}}, expect=202)
    c("cinder transfer delete after accept", "DELETE", transfer, token=t, expect=404)
    again = c("cinder transfer create back", "POST", f"{bob_base}/os-volume-transfer", token=bob,
              json={"transfer": {"volume_id": vid}}, expect=202).json()["transfer"]
    scenario.rec.normaliser.literal(again["auth_key"], "<auth-key-2>")
    c("cinder transfer delete", "DELETE", f"{bob_base}/os-volume-transfer/{again['id']}", token=bob, expect=202)
    c("transfer volume delete", "DELETE", f"{bob_base}/volumes/{vid}", token=bob, expect=202)
    c("transfer volume observed gone", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "gone"}, expect=200)


def volume_attachments(scenario: Scenario) -> None:
    """Issue 16, volumes on servers: alice attaches her volume to her server, the scenario's host reports it
    plugged (in-use) and then unplugged (available); bob can neither see nor touch it."""
    c, t, h, bob, a = (scenario.call, scenario.alice_token, scenario.host_token, scenario.bob_token,
                       scenario.admin)
    volume_base = f"/volume/v3/{scenario.project_a['id']}"
    image = c("attach image create", "POST", "/image/v2/images", token=t,
              json={"name": "golden-attach", "disk_format": "qcow2", "container_format": "bare"}, expect=201).json()
    c("attach image upload", "PUT", f"/image/v2/images/{image['id']}/file", token=t,
      content=gzip.decompress(IMAGE.read_bytes()), headers={"Content-Type": "application/octet-stream"}, expect=204)
    created = c("attach server create", "POST", "/compute/v2.1/servers", token=t, json={"server": {
        "name": "golden-attach", "imageRef": image["id"], "flavorRef": "1", "networks": "none"}},
        expect=202).json()["server"]
    scenario.rec.normaliser.literal(created.get("adminPass", ""), "<admin-pass-attach>")
    sid = created["id"]
    observed = f"/internal/v1/instances/{sid}/observed"
    c("attach server observed running", "PUT", observed, token=h, json={"power": "running"}, expect=200)
    vid = c("attach volume create", "POST", f"{volume_base}/volumes", token=t,
            json={"volume": {"size": 1, "name": "golden-data"}}, expect=202).json()["volume"]["id"]
    c("attach volume observed available", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "available"}, expect=200)

    attachments = f"/compute/v2.1/servers/{sid}/os-volume_attachments"
    at_279, at_289 = {"OpenStack-API-Version": "compute 2.79"}, {"OpenStack-API-Version": "compute 2.89"}
    c("nova attach unknown volume", "POST", attachments, token=t, json={"volumeAttachment": {"volumeId": MISSING}},
      expect=404)
    c("nova attach bad body", "POST", attachments, token=t, json={"volumeAttachment": {}}, expect=400)
    c("nova attach to another project's server", "POST", attachments, token=bob,
      json={"volumeAttachment": {"volumeId": vid}}, expect=404)
    c("nova attach", "POST", attachments, token=t, headers=at_279,
      json={"volumeAttachment": {"volumeId": vid, "tag": "data"}}, expect=200)
    c("nova attach again", "POST", attachments, token=t, json={"volumeAttachment": {"volumeId": vid}}, expect=400)
    c("cinder volume show attaching", "GET", f"{volume_base}/volumes/{vid}", token=t, expect=200)
    c("host desired state with a volume", "GET", f"/internal/v1/hosts/{HOST}/instances", token=h, expect=200)
    c("attach observed plugged", "PUT", observed, token=h, json={"power": "running", "volumes": [vid]}, expect=200)
    c("cinder volume show in-use", "GET", f"{volume_base}/volumes/{vid}", token=t, expect=200)
    c("cinder volume delete in-use", "DELETE", f"{volume_base}/volumes/{vid}", token=t, expect=400)
    c("nova attachments list", "GET", attachments, token=t, expect=200)
    c("nova attachments list at 2.89", "GET", attachments, token=t, headers=at_289, expect=200)
    c("nova attachments list as another project", "GET", attachments, token=bob, expect=404)
    c("nova attachment show", "GET", f"{attachments}/{vid}", token=t, headers=at_279, expect=200)
    c("nova attachment show missing", "GET", f"{attachments}/{MISSING}", token=t, expect=404)
    c("nova server show with a volume", "GET", f"/compute/v2.1/servers/{sid}", token=t, headers=at_279, expect=200)
    at_285 = {"OpenStack-API-Version": "compute 2.85"}
    c("nova attachment update delete_on_termination", "PUT", f"{attachments}/{vid}", token=t, headers=at_285,
      json={"volumeAttachment": {"volumeId": vid, "delete_on_termination": True}}, expect=202)
    c("nova attachment update device", "PUT", f"{attachments}/{vid}", token=t, headers=at_285,
      json={"volumeAttachment": {"volumeId": vid, "device": "/dev/vdz"}}, expect=400)
    c("nova attachment swap as member", "PUT", f"{attachments}/{vid}", token=t,
      json={"volumeAttachment": {"volumeId": MISSING}}, expect=403)
    c("nova attachment swap as admin", "PUT", f"{attachments}/{vid}", token=a,
      json={"volumeAttachment": {"volumeId": MISSING}}, expect=409)
    c("nova detach as another project", "DELETE", f"{attachments}/{vid}", token=bob, expect=404)
    c("nova detach", "DELETE", f"{attachments}/{vid}", token=t, expect=202)
    c("cinder volume show detaching", "GET", f"{volume_base}/volumes/{vid}", token=t, expect=200)
    c("attach observed unplugged", "PUT", observed, token=h, json={"power": "running", "volumes": []}, expect=200)
    c("nova detach not attached", "DELETE", f"{attachments}/{vid}", token=t, expect=404)
    c("cinder volume show detached", "GET", f"{volume_base}/volumes/{vid}", token=t, expect=200)
    c("attach volume delete", "DELETE", f"{volume_base}/volumes/{vid}", token=t, expect=202)
    c("attach volume observed gone", "PUT", f"/internal/v1/volumes/{vid}/observed", token=h,
      json={"status": "gone"}, expect=200)
    c("attach server delete", "DELETE", f"/compute/v2.1/servers/{sid}", token=t, expect=204)
    c("attach server observed gone", "PUT", observed, token=h, json={"power": "missing"}, expect=200)
    c("attach image delete", "DELETE", f"/image/v2/images/{image['id']}", token=t, expect=204)
