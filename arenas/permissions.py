"""Roles and the four permission flags, with their defaults per role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import validation
from .errors import Invalid
from .models import Role

PERMISSIONS = (
    "can_write_own_slot",
    "can_read_other_slots",
    "can_write_shared_memory",
    "can_merge",
)

ROLE_DEFAULTS: dict[str, dict[str, bool]] = {
    Role.COORDINATOR: {
        "can_write_own_slot": True,
        "can_read_other_slots": True,
        "can_write_shared_memory": True,
        "can_merge": True,
    },
    Role.WORKER: {
        "can_write_own_slot": True,
        "can_read_other_slots": True,
        "can_write_shared_memory": True,
        "can_merge": False,
    },
    Role.OBSERVER: {
        "can_write_own_slot": False,
        "can_read_other_slots": True,
        "can_write_shared_memory": False,
        "can_merge": False,
    },
}


def resolve(role: Any, overrides: Mapping[str, Any] | None = None) -> tuple[str, dict[str, bool]]:
    """Validate a role and optional flag overrides; return the role and its four flags."""
    role = validation.choice(role, "role", Role.values)
    flags = dict(ROLE_DEFAULTS[role])
    for name, value in (overrides or {}).items():
        if name not in PERMISSIONS:
            raise Invalid.field(name, "Unknown permission.")
        if value is None:
            continue
        if not isinstance(value, bool):
            raise Invalid.field(name, "Must be true or false.")
        flags[name] = value
    return role, flags
