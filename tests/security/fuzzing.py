"""A fuzz pass over every JSON API the cloud serves to clients (Keystone, Nova, Glance, Neutron).

The requests come from schemathesis, from the OpenAPI documents FastAPI generates for our routes (built here
from the service apps, which do not serve them), in both of its modes: positive (requests the schema allows) and
negative (requests it does not). Our list routes read their filters from the raw query string, so each collection
GET is given, for the fuzzer only, the filters clients use and the attributes of the resource it lists.
Used by tests/security/test_fuzz.py (bounded) and bench/fuzz.py (unbounded).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from andromede.compute.api import build_compute_app
from andromede.identity.api import build_identity_app
from andromede.image.api import build_image_app
from andromede.network.api import build_network_app

# The apps only carry their routes here: nothing is served from them, so their state stays empty.
SERVICES: dict[str, Callable[[], Any]] = {
    "/identity": lambda: build_identity_app(None),  # type: ignore[arg-type]
    "/compute": lambda: build_compute_app(None, None),  # type: ignore[arg-type]
    "/image": lambda: build_image_app(None),  # type: ignore[arg-type]
    "/network": lambda: build_network_app(None, None),  # type: ignore[arg-type]
}
# Filters and list controls of the four APIs (Neutron's, Nova's, Glance's, Keystone's).
LIST_PARAMETERS = ("id", "name", "status", "description", "project_id", "tenant_id", "domain_id", "enabled",
                   "fields", "sort_key", "sort_dir", "sort", "limit", "marker", "page_reverse", "tags", "tags-any",
                   "not-tags", "not-tags-any", "all_tenants", "changes-since", "image", "flavor", "visibility",
                   "member_status", "owner", "tag", "fixed_ips", "security_groups", "network_id", "device_id",
                   "ip_version", "shared", "router:external", "admin_state_up", "user_id", "parent_id", "type")


def _body_attributes(document: dict, operation: dict) -> list[str]:
    """The attribute names of the resource a POST creates (`{"port": {...}}` -> the port's fields)."""
    components = document.get("components", {}).get("schemas", {})

    def resolve(schema: dict) -> dict:
        while "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema

    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    properties = resolve(body).get("properties", {})
    if len(properties) == 1:  # the OpenStack wrapper object
        properties = resolve(next(iter(properties.values()))).get("properties", properties)
    return list(properties)


def service_documents() -> dict[str, dict]:
    """Each service's OpenAPI document, its collection GETs given their filters as query parameters."""
    documents = {}
    for prefix, build in SERVICES.items():
        document = copy.deepcopy(build().openapi())
        for path, item in document["paths"].items():
            listing = item.get("get")
            if listing is None or path.endswith("}") or listing.get("parameters"):
                continue
            names = dict.fromkeys([*LIST_PARAMETERS, *_body_attributes(document, item.get("post", {}))])
            listing["parameters"] = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                                     for name in names]
        documents[prefix] = document
    return documents


@dataclass
class Finding:
    status: int
    method: str
    url: str
    body: str


@dataclass
class Report:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        worst = "\n".join(f"  {f.status} {f.method} {f.url[:160]} {f.body[:200]!r}" for f in self.findings[:20])
        return (f"{self.sent} requests in {self.seconds:.0f} s, statuses {dict(sorted(self.statuses.items()))}, "
                f"{len(self.findings)} answers >= 500" + (f":\n{worst}" if worst else ""))


def _operations() -> list[tuple[str, Any]]:
    found = []
    for prefix, document in service_documents().items():
        schema = schemathesis.openapi.from_dict(document)
        for result in schema.get_all_operations():
            found.append((prefix, result.ok()))
    return found


def fuzz(base_url: str, cacert: str, tokens: list[str], count: int, *, seed: int | None = None,
         timeout: float = 30.0, progress: Callable[[Report], None] | None = None) -> Report:
    """Send `count` generated requests (each with one of `tokens`, or none) and report every answer >= 500.

    `progress`, if given, sees the report after every 1,000 requests (and may renew `tokens` in place)."""
    strategies = [st.tuples(st.just(prefix), operation.as_strategy(generation_mode=mode))
                  for prefix, operation in _operations() for mode in (GenerationMode.POSITIVE,
                                                                      GenerationMode.NEGATIVE)]
    report = Report()
    session = requests.Session()
    session.verify = cacert
    started = time.monotonic()

    @settings(max_examples=count, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    # An index, not the token: `progress` may put fresh tokens in the list during a long run.
    @given(drawn=st.one_of(strategies), which=st.integers(0, len(tokens)))
    def send(drawn: tuple[str, Any], which: int) -> None:
        prefix, case = drawn
        headers = {"X-Auth-Token": tokens[which]} if which < len(tokens) else {}
        report.sent += 1
        if progress is not None and report.sent % 1000 == 0:
            report.seconds = time.monotonic() - started
            progress(report)
        try:
            response = case.call(base_url=base_url + prefix, session=session, headers=headers, timeout=timeout,
                                 verify=cacert)
        except requests.RequestException as exc:
            report.findings.append(Finding(0, case.method, case.formatted_path, repr(exc)))
            return
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.findings.append(Finding(response.status_code, case.method, response.request.url or "",
                                           response.text))

    if seed is not None:
        from hypothesis import seed as fix_seed

        send = fix_seed(seed)(send)
    send()
    session.close()
    report.seconds = time.monotonic() - started
    return report


def tracebacks(log_text: str) -> list[str]:
    """The tracebacks a server wrote to its log, one string each: its frames and the exception line."""
    found = []
    for block in log_text.split("Traceback (most recent call last):\n")[1:]:
        lines = []
        for line in block.splitlines():
            lines.append(line)
            if line and not line[0].isspace():  # the exception, after the indented frames
                break
        found.append("\n".join(lines))
    return found


__all__ = ["Finding", "Report", "fuzz", "service_documents", "tracebacks"]
