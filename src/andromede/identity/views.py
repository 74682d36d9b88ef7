"""Rows → Keystone resource documents (View models), with links and flattened extras."""

from __future__ import annotations

from andromede.common.clock import isotime
from andromede.identity import schemas as s
from andromede.identity.models import (
    ApplicationCredential,
    Domain,
    Endpoint,
    Group,
    Project,
    Region,
    Role,
    Service,
    User,
)


class Views:
    def __init__(self, identity_url: str) -> None:
        self.v3 = identity_url + "/v3"

    def links(self, collection: str, ident: str) -> s.Links:
        return s.Links(self=f"{self.v3}/{collection}/{ident}")

    def collection_links(self, path: str) -> dict:
        return {"self": f"{self.v3}/{path}", "previous": None, "next": None}

    def domain(self, row: Domain) -> dict:
        return s.dump(s.DomainView(**row.extra, id=row.id, name=row.name, description=row.description,
                                   enabled=row.enabled, links=self.links("domains", row.id)))

    def project(self, row: Project) -> dict:
        extra = dict(row.extra)
        tags = extra.pop("tags", [])
        return s.dump(s.ProjectView(**extra, id=row.id, name=row.name, domain_id=row.domain_id,
                                    parent_id=row.parent_id or row.domain_id, description=row.description,
                                    enabled=row.enabled, tags=tags, links=self.links("projects", row.id)))

    def domain_as_project(self, row: Domain) -> dict:
        """A domain seen as Keystone's project acting as a domain (is_domain: true, no domain or parent)."""
        extra = {k: v for k, v in row.extra.items() if k not in ("tags", "options")}
        return s.dump(s.ProjectView(**extra, id=row.id, name=row.name, domain_id=None, parent_id=None,
                                    description=row.description, enabled=row.enabled, is_domain=True,
                                    links=self.links("projects", row.id)))

    def user(self, row: User) -> dict:
        return s.dump(s.UserView(**row.extra, id=row.id, name=row.name, domain_id=row.domain_id,
                                 enabled=row.enabled, default_project_id=row.default_project_id,
                                 description=row.description, options=row.options,
                                 links=self.links("users", row.id)))

    def group(self, row: Group) -> dict:
        return s.dump(s.GroupView(**row.extra, id=row.id, name=row.name, domain_id=row.domain_id,
                                  description=row.description, links=self.links("groups", row.id)))

    def role(self, row: Role) -> dict:
        return s.dump(s.RoleView(**row.extra, id=row.id, name=row.name, domain_id=row.domain_id,
                                 description=row.description, links=self.links("roles", row.id)))

    def region(self, row: Region) -> dict:
        return s.dump(s.RegionView(**row.extra, id=row.id, description=row.description,
                                   parent_region_id=row.parent_region_id, links=self.links("regions", row.id)))

    def service(self, row: Service) -> dict:
        return s.dump(s.ServiceView(**row.extra, id=row.id, type=row.type, name=row.name,
                                    description=row.description, enabled=row.enabled,
                                    links=self.links("services", row.id)))

    def endpoint(self, row: Endpoint) -> dict:
        return s.dump(s.EndpointView(**row.extra, id=row.id, service_id=row.service_id, interface=row.interface,
                                     region_id=row.region_id, region=row.region_id, url=row.url,
                                     enabled=row.enabled, links=self.links("endpoints", row.id)))

    def application_credential(self, row: ApplicationCredential, roles: list[dict]) -> dict:
        return s.dump(s.ApplicationCredentialView(
            id=row.id, name=row.name, user_id=row.user_id, project_id=row.project_id, system=row.system,
            description=row.description, roles=roles, expires_at=isotime(row.expires_at),
            unrestricted=row.unrestricted,
            links=s.Links(self=f"{self.v3}/users/{row.user_id}/application_credentials/{row.id}")))
