"""Tables (registered on the shared Base through andromede.db.models)."""

from __future__ import annotations
