"""How a server group's policy filters or orders the scheduler's candidate hosts (Nova's filters and weighers)."""

from __future__ import annotations

from dataclasses import dataclass
from unittest.mock import patch

import pytest

from andromede.compute import server_groups
from andromede.compute.group_models import ServerGroup


@dataclass(frozen=True)
class FakeHost:
    name: str


HOSTS = [FakeHost("hv1"), FakeHost("hv2"), FakeHost("hv3")]


def _arranged(policy: str, used: list[str], rules: dict | None = None) -> list[str]:
    group = ServerGroup(uuid="g", name="g", project_id="p", user_id="u", policy=policy, rules=rules or {})
    with patch.object(server_groups, "_member_hosts", return_value=used):
        return [h.name for h in server_groups.arrangement(None, group)(HOSTS)]  # type: ignore[arg-type]


@pytest.mark.parametrize(("policy", "used", "expected"), [
    ("affinity", [], ["hv1", "hv2", "hv3"]),  # the first member goes wherever the scheduler prefers
    ("affinity", ["hv2", "hv2"], ["hv2"]),
    ("affinity", ["hv9"], []),  # the members' host is full or gone: no valid host
    ("anti-affinity", ["hv1", "hv3"], ["hv2"]),
    ("anti-affinity", ["hv1", "hv2", "hv3"], []),
    ("soft-anti-affinity", ["hv1", "hv1", "hv2"], ["hv3", "hv2", "hv1"]),
    ("soft-anti-affinity", ["hv1", "hv2", "hv3"], ["hv1", "hv2", "hv3"]),  # never empty, scheduler order kept
    ("soft-affinity", ["hv3", "hv2", "hv3"], ["hv3", "hv2", "hv1"]),
    ("soft-affinity", ["hv9"], ["hv1", "hv2", "hv3"]),
])
def test_policies_filter_or_order_candidates(policy: str, used: list[str], expected: list[str]) -> None:
    assert _arranged(policy, used) == expected


def test_max_server_per_host_loosens_anti_affinity() -> None:
    assert _arranged("anti-affinity", ["hv1", "hv1", "hv2"], {"max_server_per_host": 2}) == ["hv2", "hv3"]
