"""The API answers as it did when tests/golden/responses.json was recorded: every route, normal and error cases.

The scenario (tests/golden/scenario.py) runs against a fresh cloud per database backend; its exchanges, normalised
(tests/golden/normalise.py), must equal the recording exactly: status, the headers clients read, and the JSON body
with its key order. A route the scenario does not reach both as a success and as an error fails the test, so a new
route must join the scenario (and the recording).

To record again on purpose, after a deliberate change of behaviour:
    ANDROMEDE_RECORD=1 PYTHONPATH=$PWD/src .venv/bin/python -m pytest tests/golden -m "not postgres"
then review `git diff tests/golden/responses.json` like any other change.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.golden import routes, scenario
from tests.support.postgres import fresh_database
from tests.support.server import Server, free_port

RECORDING = Path(__file__).parent / "responses.json"
RECORD = os.environ.get("ANDROMEDE_RECORD") == "1"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def golden_cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A cloud of its own (nothing another test did is in it), with no host agent: the scenario plays the host."""
    database_url = ""
    if request.param == "postgresql":
        database_url = fresh_database(request.getfixturevalue("postgres_url"), "golden")
    data_dir = tmp_path_factory.mktemp(f"golden-{request.param}") / "data"
    # The controller's host name is fixed: it appears in answers (services, hypervisors) and differs per machine.
    srv = Server(data_dir=data_dir, port=free_port(), database_url=database_url, agent_driver="none",
                 env={"ANDROMEDE_HOST_NAME": "golden-controller"})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def played(golden_cloud: Server) -> scenario.Recorder:
    return scenario.run(golden_cloud)


def _dump(records: list[dict]) -> str:
    return json.dumps(records, indent=1, ensure_ascii=False) + "\n"


def _diff(expected: list[dict], actual: list[dict]) -> str:
    by_step = {r["step"]: r for r in expected}
    lines: list[str] = []
    changed = [r for r in actual if by_step.get(r["step"]) != r]
    missing = [s for s in by_step if s not in {r["step"] for r in actual}]
    for record in changed[:15]:
        before = json.dumps(by_step.get(record["step"]), indent=1, ensure_ascii=False).splitlines()
        after = json.dumps(record, indent=1, ensure_ascii=False).splitlines()
        lines += difflib.unified_diff(before, after, f"recorded: {record['step']}", f"now: {record['step']}",
                                      lineterm="", n=2)
    if len(changed) > 15:
        lines.append(f"... and {len(changed) - 15} more changed steps: {[r['step'] for r in changed[15:]]}")
    if missing:
        lines.append(f"steps recorded but not played: {missing}")
    order = [r["step"] for r in expected] != [r["step"] for r in actual]
    if order and not changed and not missing:
        lines.append("the same steps, in another order")
    return "\n".join(lines)


def test_every_answer_is_as_recorded(played: scenario.Recorder, request: pytest.FixtureRequest) -> None:
    records = played.records()
    backend = request.node.callspec.params.get("golden_cloud", "sqlite")
    if RECORD and backend == "sqlite":
        RECORDING.write_text(_dump(records))
        pytest.skip(f"recorded {len(records)} exchanges to {RECORDING}")
    expected = json.loads(RECORDING.read_text())
    if records != expected:
        pytest.fail(f"the API answers differently from {RECORDING.name} ({backend}):\n{_diff(expected, records)}",
                    pytrace=False)
    # Key order too: dict equality ignores it, the dumped text does not.
    assert _dump(records) == RECORDING.read_text()


def test_every_route_is_played_as_a_success_and_as_an_error(played: scenario.Recorder) -> None:
    all_routes = routes.app_routes()
    match = routes.matcher(all_routes)
    successes: set[routes.RouteKey] = set()
    errors: set[routes.RouteKey] = set()
    for exchange in played.exchanges:
        key = match(exchange.method, exchange.path)
        if key is not None:
            (successes if exchange.status < 400 else errors).add(key)
    no_success = [str(k) for k in all_routes if k not in successes and not routes.NO_SUCCESS_CASE.match(str(k))]
    no_error = [str(k) for k in all_routes if k not in errors and not routes.NO_ERROR_CASE.match(str(k))]
    assert not no_success and not no_error, (
        "routes the golden scenario does not play (add them to tests/golden/scenario.py and record again):\n"
        f"never answered with a success: {no_success}\nnever answered with an error: {no_error}")
