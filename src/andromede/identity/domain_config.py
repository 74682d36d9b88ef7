"""Domain-specific identity configuration (Keystone's /v3/domains/{id}/config), kept as a document.

Keystone uses it to point a domain at an LDAP directory. Here it is stored and served with Keystone's rules (groups
`identity` and `ldap`, their allowed options, the LDAP password sealed and never shown) so tools that manage it
work, but nothing reads it: users always live in this cloud's own database and no LDAP server is ever contacted.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andromede.common.errors import Forbidden, NotFound
from andromede.common.keyring import Keyring
from andromede.identity.common import get_or_404
from andromede.identity.models import Domain, DomainConfigOption

_SEAL_AD = b"andromede-domain-config-v1"

# Keystone's whitelisted options and their defaults (keystone.conf [identity] and [ldap]).
DEFAULTS: dict[str, dict[str, Any]] = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {
        "url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com", "query_scope": "one",
        "page_size": 0, "alias_dereferencing": "default", "debug_level": None, "chase_referrals": None,
        "user_tree_dn": None, "user_filter": None, "user_objectclass": "inetOrgPerson",
        "user_id_attribute": "cn", "user_name_attribute": "sn", "user_mail_attribute": "mail",
        "user_description_attribute": "description", "user_pass_attribute": "userPassword",
        "user_enabled_attribute": "enabled", "user_enabled_invert": False, "user_enabled_mask": 0,
        "user_enabled_default": "True", "user_attribute_ignore": ["default_project_id"],
        "user_default_project_id_attribute": None, "user_enabled_emulation": False,
        "user_enabled_emulation_dn": None, "user_enabled_emulation_use_group_config": False,
        "user_additional_attribute_mapping": [], "group_tree_dn": None, "group_filter": None,
        "group_objectclass": "groupOfNames", "group_id_attribute": "cn", "group_name_attribute": "ou",
        "group_members_are_ids": False, "group_member_attribute": "member",
        "group_desc_attribute": "description", "group_attribute_ignore": [],
        "group_additional_attribute_mapping": [], "tls_cacertfile": None, "tls_cacertdir": None,
        "use_tls": False, "tls_req_cert": "demand", "use_pool": True, "pool_size": 10, "pool_retry_max": 3,
        "pool_retry_delay": 0.1, "pool_connection_timeout": -1, "pool_connection_lifetime": 600,
        "use_auth_pool": True, "auth_pool_size": 100, "auth_pool_connection_lifetime": 60,
    },
}
SENSITIVE: dict[str, frozenset[str]] = {"identity": frozenset(), "ldap": frozenset({"password"})}
MAX_VALUE_CHARS = 4096

Config = dict[str, dict[str, Any]]


def _invalid(reason: str) -> Forbidden:
    # Keystone's InvalidDomainConfig is a 403.
    return Forbidden(f"Invalid domain specific configuration: {reason}.")


def check_group_option(group: str | None, option: str | None = None) -> None:
    if group is None:
        return
    if group not in DEFAULTS:
        raise _invalid(f"Group {group} is not supported for domain specific configurations")
    if option is not None and option not in DEFAULTS[group] and option not in SENSITIVE[group]:
        raise _invalid(f"Option {option} in group {group} is not supported for domain specific configurations")


def _check_value(group: str, option: str, value: Any) -> None:
    if isinstance(value, dict) or len(json.dumps(value)) > MAX_VALUE_CHARS:
        raise _invalid(f"The value of option {option} in group {group} is not a plain value")


def check_config(config: Any) -> Config:
    if not isinstance(config, dict) or not config:
        raise _invalid("No options specified")
    for group, options in config.items():
        if not isinstance(options, dict) or not options:
            raise _invalid(f"The value of group {group} specified in the config should be a dictionary of options")
        for option, value in options.items():
            check_group_option(group, option)
            _check_value(group, option, value)
    return config


def _rows(session: Session, domain_id: str, group: str | None = None,
          option: str | None = None) -> list[DomainConfigOption]:
    query = select(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id)
    if group is not None:
        query = query.where(DomainConfigOption.group == group)
    if option is not None:
        query = query.where(DomainConfigOption.option == option)
    return list(session.scalars(query.order_by(DomainConfigOption.group, DomainConfigOption.option)))


def _store(session: Session, keyring: Keyring, domain_id: str, config: Config) -> None:
    for group, options in config.items():
        for option, value in options.items():
            sensitive = option in SENSITIVE[group]
            stored = {"sealed": keyring.seal_text(json.dumps(value), _SEAL_AD)} if sensitive else {"v": value}
            row = session.get(DomainConfigOption, (domain_id, group, option))
            if row is None:
                session.add(DomainConfigOption(domain_id=domain_id, group=group, option=option, value=stored,
                                               sensitive=sensitive))
            else:
                row.value, row.sensitive = stored, sensitive
    session.flush()


def _visible(rows: list[DomainConfigOption]) -> Config:
    config: Config = {}
    for row in rows:
        if not row.sensitive:
            config.setdefault(row.group, {})[row.option] = row.value.get("v")
    return config


def create(session: Session, keyring: Keyring, domain_id: str, config: Any) -> tuple[Config, bool]:
    """Replace the domain's configuration; True when it had none before (201 rather than 200)."""
    get_or_404(session, Domain, domain_id, "domain")
    checked = check_config(config)
    existed = bool(_rows(session, domain_id))
    session.execute(delete(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id))
    _store(session, keyring, domain_id, checked)
    return _visible(_rows(session, domain_id)), not existed


def get(session: Session, domain_id: str, group: str | None = None, option: str | None = None) -> Any:
    get_or_404(session, Domain, domain_id, "domain")
    check_group_option(group, option)
    visible = _visible(_rows(session, domain_id, group, option))
    if not visible:
        what = (f"option {option} in group {group}" if option else f"group {group}" if group else "any options")
        raise NotFound(f"Could not find {what} in domain configuration for domain {domain_id}.")
    if option is not None and group is not None:
        return {option: visible[group][option]}
    return visible


def update(session: Session, keyring: Keyring, domain_id: str, config: Any, group: str | None = None,
           option: str | None = None) -> Config:
    """Keystone's merge: with a group (and option) in the path, the body names exactly that, which must exist."""
    get_or_404(session, Domain, domain_id, "domain")
    check_group_option(group, option)
    if group is not None and option is not None:
        config = {group: config} if isinstance(config, dict) else config
    checked = check_config(config)
    if group is not None:
        if list(checked) != [group] or (option is not None and list(checked[group]) != [option]):
            raise _invalid(f"Trying to update {'option ' + option + ' in ' if option else ''}group {group}, so "
                           "that, and only that, must be specified in the config")
        if not _rows(session, domain_id, group, option):
            what = f"option {option} in group {group}" if option else f"group {group}"
            raise NotFound(f"Could not find {what} in domain configuration for domain {domain_id}.")
    _store(session, keyring, domain_id, checked)
    return _visible(_rows(session, domain_id))


def remove(session: Session, domain_id: str, group: str | None = None, option: str | None = None) -> None:
    get_or_404(session, Domain, domain_id, "domain")
    check_group_option(group, option)
    rows = _rows(session, domain_id, group, option)
    if not rows:
        raise NotFound(f"Could not find domain configuration for domain {domain_id}.")
    for row in rows:
        session.delete(row)


def forget_domain(session: Session, domain_id: str) -> None:
    session.execute(delete(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id))


def default(group: str | None = None, option: str | None = None) -> Any:
    check_group_option(group, option)
    if option is not None and group is not None:
        if option not in DEFAULTS[group]:
            raise _invalid(f"Option {option} in group {group} has no default that can be read")
        return {option: DEFAULTS[group][option]}
    if group is not None:
        return {group: dict(DEFAULTS[group])}
    return {name: dict(options) for name, options in DEFAULTS.items()}
