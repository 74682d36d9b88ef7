"""Drive a cloud over raw HTTP and keep every exchange, normalised (tests/golden/normalise.py)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.golden.normalise import Normaliser

# While writing the scenario: report every unexpected status instead of stopping at the first.
LENIENT = os.environ.get("ANDROMEDE_GOLDEN_LENIENT") == "1"


class ScenarioError(AssertionError):
    """A step the rest of the scenario depends on did not answer as it did when the recording was made."""


@dataclass
class Exchange:
    """One request as sent (method, raw path) and its answer; `record` is its normalised form."""

    method: str
    path: str
    status: int
    token: str | None
    record: dict = field(repr=False)


@dataclass
class Recorder:
    client: httpx.Client
    normaliser: Normaliser = field(default_factory=Normaliser)
    exchanges: list[Exchange] = field(default_factory=list, repr=False)
    _raw: list[tuple[str, httpx.Response, Any]] = field(default_factory=list, repr=False)

    def call(self, step: str, method: str, path: str, *, token: str | None = None, json: Any = None,
             content: bytes | None = None, headers: dict[str, str] | None = None,
             expect: int | tuple[int, ...] | None = None) -> httpx.Response:
        if any(step == previous for previous, _response, _body in self._raw):
            raise ScenarioError(f"two steps are named {step!r}: the recording is compared step by step")
        sent = dict(headers or {})
        if token is not None:
            sent["X-Auth-Token"] = token
        response = self.client.request(method, path, json=json, content=content, headers=sent)
        self._raw.append((step, response, json))
        self.exchanges.append(Exchange(method, path.split("?", 1)[0], response.status_code, token, {}))
        wanted = (expect,) if isinstance(expect, int) else expect
        if wanted is not None and response.status_code not in wanted:
            if LENIENT:
                print(f"MISMATCH {step}: {method} {path} -> {response.status_code} (expected {expect}): "
                      f"{response.text[:300]}", file=sys.stderr)
                return response
            raise ScenarioError(f"{step}: {method} {path} answered {response.status_code}, expected {expect}:\n"
                                f"{response.text[:2000]}")
        return response

    def records(self) -> list[dict]:
        """Normalise once the whole scenario has run: literals registered late (generated keys) apply too."""
        out = []
        for (step, response, body), exchange in zip(self._raw, self.exchanges, strict=True):
            request = response.request
            target = self.normaliser.text(request.url.raw_path.decode("ascii"))
            record = {"step": step, "request": f"{request.method} {target}"}
            if body is not None:
                record["request_body"] = self.normaliser.json(body)
            record["status"] = response.status_code
            record["headers"] = self.normaliser.headers(list(response.headers.multi_items()))
            record["body"] = self.normaliser.body(response.content, response.headers.get("content-type", ""))
            exchange.record = record
            out.append(record)
        return out
