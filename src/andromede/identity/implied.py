"""Implied roles (Keystone's role inference rules): holding the prior role grants the implied one too."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andromede.common.errors import BadRequest, Forbidden, NotFound
from andromede.identity.assignment import get_role
from andromede.identity.models import ImpliedRole, Role

# Keystone's [assignment] prohibited_implied_role default: nobody gets admin by implication.
PROHIBITED_IMPLIED = frozenset({"admin"})


def rules(session: Session) -> dict[str, list[str]]:
    """prior role id -> implied role ids, in a stable order."""
    table: dict[str, list[str]] = {}
    query = select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id).order_by(
        ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)
    for prior, implied in session.execute(query):
        table.setdefault(prior, []).append(implied)
    return table


def _reachable(table: dict[str, list[str]], start: str) -> set[str]:
    seen, pending = set(), [start]
    while pending:
        for implied in table.get(pending.pop(), []):
            if implied not in seen:
                seen.add(implied)
                pending.append(implied)
    return seen


def create(session: Session, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    prior, implied = get_role(session, prior_id), get_role(session, implied_id)
    if implied.name in PROHIBITED_IMPLIED and implied.domain_id is None:
        raise Forbidden(f"{implied_id} cannot be an implied roles.")
    if prior.domain_id is None and implied.domain_id is not None:
        # As Keystone: a global role cannot imply a domain-specific one.
        raise Forbidden(f"{implied_id} cannot be an implied roles.")
    if prior_id == implied_id or prior_id in _reachable(rules(session), implied_id):
        raise BadRequest(f"Creating the implied role {prior_id} -> {implied_id} would make a circular inference.")
    if session.get(ImpliedRole, (prior_id, implied_id)) is None:
        session.add(ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id))
        session.flush()
    return prior, implied


def get(session: Session, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    prior, implied = get_role(session, prior_id), get_role(session, implied_id)
    if session.get(ImpliedRole, (prior_id, implied_id)) is None:
        raise NotFound(f"{prior_id} does not imply {implied_id}.")
    return prior, implied


def delete(session: Session, prior_id: str, implied_id: str) -> None:
    get(session, prior_id, implied_id)
    row = session.get(ImpliedRole, (prior_id, implied_id))
    session.delete(row)


def implied_by(session: Session, prior_id: str) -> tuple[Role, list[Role]]:
    prior = get_role(session, prior_id)
    ids = rules(session).get(prior_id, [])
    implied = list(session.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.name))) if ids else []
    return prior, implied
