"""What the server and the host agents say to each other, typed once and imported by both sides.

One module per service. A contract imports pydantic and the standard library only: no table, no session, no
server module (import-linter checks it), so an agent can import it and the server builds exactly what the agent
parses. The server validates what it builds; the agent parses with `model_validate`.

Models ignore fields they do not know (extra="ignore") instead of refusing them: during an upgrade a newer server
may send a field an older agent has never heard of, and that agent must carry on with the fields it knows. A field
added later gets a default for the same reason, the other way round (an older server, a newer agent).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Contract(BaseModel):
    """A document of the server↔agent contract: immutable, unknown fields ignored (see the module's docstring)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    def wire(self) -> dict:
        """The JSON-ready document, fields in declaration order (the order the internal API has always answered)."""
        return self.model_dump(mode="json", by_alias=True)


def summary(exc: ValidationError, limit: int = 3) -> str:
    """A validation failure in one line, for logs and faults: `instances.0.vcpus: Input should be ...`."""
    parts = [f"{'.'.join(str(p) for p in error['loc']) or 'document'}: {error['msg']}"
             for error in exc.errors()[:limit]]
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
