"""Every service of the server, in the order the assembly mounts them, lists them at `/` and in the catalog, and
`andromede up` bootstraps them. Adding a service is one line here and its `<service>/descriptor.py`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from andromede.compute.descriptor import DESCRIPTOR as COMPUTE
from andromede.db.base import Base
from andromede.hosts.descriptor import DESCRIPTOR as HOSTS
from andromede.identity.descriptor import DESCRIPTOR as IDENTITY
from andromede.image.descriptor import DESCRIPTOR as IMAGE
from andromede.kms.descriptor import DESCRIPTOR as KMS
from andromede.metadata.descriptor import DESCRIPTOR as METADATA
from andromede.network.descriptor import DESCRIPTOR as NETWORK
from andromede.servicekit.descriptor import ServiceDescriptor
from andromede.volume.descriptor import DESCRIPTOR as VOLUME

SERVICES: tuple[ServiceDescriptor, ...] = (IDENTITY, IMAGE, COMPUTE, NETWORK, HOSTS, METADATA, KMS, VOLUME)


def tables(services: Sequence[ServiceDescriptor] = SERVICES) -> list[Table]:
    """The tables the models modules of `services` declare, registered on the shared metadata (`Base.metadata`,
    which Alembic and create_all read) when their descriptors were imported."""
    modules = {module.__name__ for service in services for module in service.models}
    found = {mapper.local_table.name: mapper.local_table for mapper in Base.registry.mappers
             if mapper.class_.__module__ in modules and isinstance(mapper.local_table, Table)}
    return [found[name] for name in sorted(found)]
