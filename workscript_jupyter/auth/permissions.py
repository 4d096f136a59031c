"""Roles and permission strings, and ``check_permission``: the one place a permission is checked.

Permission strings are the original's: ``<resource>:<action>``.

- ``workflow:create|read|update|delete|execute``
- ``automation:create|read|update|delete|execute`` (execute: run one now)
- ``execution:read|rerun`` (rerun also covers cancelling and deleting a run)
- ``resource:create|read|update|delete``
- ``apikey:create|read|update|delete`` (one's own keys)
- ``user:manage`` (the admin routes: list, create, disable users, set roles)
- ``ai:read`` (the model catalogue, one's own AI usage and budget), ``ai:use`` (completions
  billed to oneself: the ``ask-ai`` node), ``ai:manage`` (sync the catalogue; admins')
- ``integration:create|read|update|delete`` (one's own Google connections: connect, list,
  rename or test, delete), ``integration:use`` (the Google nodes act through them)

Roles grant sets of them; a user may hold extra permissions on top of their role's. An API
key holds the permissions given at creation, and only those of its owner's that it still has
when used (a key never outlives its owner's rights).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final

from ..errors import BadRequestError, PermissionDeniedError

__all__ = [
    "ALL_PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "check_permission",
    "permissions_of",
    "validate_permissions",
    "validate_roles",
]

_ACTIONS: Final = {
    "workflow": ("create", "read", "update", "delete", "execute"),
    "automation": ("create", "read", "update", "delete", "execute"),
    "execution": ("read", "rerun"),
    "resource": ("create", "read", "update", "delete"),
    "apikey": ("create", "read", "update", "delete"),
    "user": ("manage",),
    "ai": ("read", "use", "manage"),
    "integration": ("create", "read", "update", "delete", "use"),
}

ALL_PERMISSIONS: Final = frozenset(
    f"{resource}:{action}" for resource, actions in _ACTIONS.items() for action in actions
)

ROLES: Final = ("admin", "user", "api")

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "admin": ALL_PERMISSIONS,
    # everything on one's own things; managing other users and the AI catalogue is the admins'
    "user": ALL_PERMISSIONS - {"user:manage", "ai:manage"},
    # a service account: read and run what it is shown, nothing else unless granted
    "api": frozenset(
        {
            "workflow:read",
            "workflow:execute",
            "automation:read",
            "automation:execute",
            "execution:read",
            "resource:read",  # the prompts and data the workflows it runs read
        }
    ),
}


def validate_permissions(values: object, *, field: str = "permissions") -> tuple[str, ...]:
    """``values`` as a sorted tuple of known permission strings; ``resource:*`` expands."""
    if not isinstance(values, list | tuple | set | frozenset):
        raise BadRequestError(
            f"{field} must be a list of permission strings", details={"field": field}
        )
    found: set[str] = set()
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise BadRequestError(
                f"{field}[{index}] must be a string like 'workflow:read'",
                details={"field": f"{field}[{index}]"},
            )
        if value.endswith(":*") and value[:-2] in _ACTIONS:
            found.update(f"{value[:-2]}:{action}" for action in _ACTIONS[value[:-2]])
            continue
        if value not in ALL_PERMISSIONS:
            raise BadRequestError(
                f"{field}[{index}]: unknown permission {value[:80]!r}; known: "
                + ", ".join(sorted(ALL_PERMISSIONS)),
                details={"field": f"{field}[{index}]"},
            )
        found.add(value)
    return tuple(sorted(found))


def validate_roles(values: object, *, field: str = "roles") -> tuple[str, ...]:
    """A non-empty list of known roles (or a single role string)."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        raise BadRequestError(
            f"{field} must be one of {', '.join(ROLES)}", details={"field": field}
        )
    for value in values:
        if value not in ROLES:
            raise BadRequestError(
                f"{field}: unknown role {str(value)[:40]!r}; one of {', '.join(ROLES)}",
                details={"field": field},
            )
    return tuple(dict.fromkeys(values))


def permissions_of(roles: Iterable[str], extra: Iterable[str] = ()) -> frozenset[str]:
    """What a user with ``roles`` and ``extra`` permissions may do (unknown strings ignored)."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    granted |= ALL_PERMISSIONS.intersection(extra)
    return frozenset(granted)


def check_permission(granted: Collection[str], permission: str, *, holder: str) -> None:
    """Every permission check of workscript goes through here: PermissionDeniedError (403)
    when ``permission`` is not in ``granted``. ``holder`` names who lacks it ("this API key",
    "the user 'ann'") for the message."""
    if permission not in ALL_PERMISSIONS:  # a typo in a handler must not silently deny or allow
        raise ValueError(f"unknown permission {permission!r}")
    if permission not in granted:
        raise PermissionDeniedError(
            f"{holder} lacks the permission {permission!r}",
            details={"permission": permission},
        )
