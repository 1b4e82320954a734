"""All SCIM routes, assembled on one blueprint.

Each ``*_views`` module registers its routes on ``bp``; importing them here is what makes
the blueprint complete before the factory registers it.
"""

from __future__ import annotations

from . import discovery_views  # noqa: F401
from . import group_views  # noqa: F401
from . import root_views  # noqa: F401
from . import search_views  # noqa: F401
from . import user_views  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
