"""Imports every service's models so Alembic and create_all see one complete metadata."""

from andromede.compute import models as compute_models  # noqa: F401
from andromede.db import changes  # noqa: F401
from andromede.hosts import models as host_models  # noqa: F401
from andromede.identity import models as identity_models  # noqa: F401
from andromede.image import models as image_models  # noqa: F401
from andromede.network import models as network_models  # noqa: F401
from andromede.network.l3 import models as l3_models  # noqa: F401
from andromede.network.security_groups import models as security_group_models  # noqa: F401
