"""Re-encrypt every stored secret under the first key of the ``SecretBox``
(``workscript secrets rotate``).

Rotating a key: put the new key first in ``WORKSCRIPT_SECRET_KEY`` and keep the old one after
it (``NEW,OLD``), restart the servers (they now write with the new key and still read rows
written with the old one), run ``workscript secrets rotate`` (every connection's tokens are
re-encrypted under the new key), then drop the old key.

A row is rotated while holding its refresh lease (connection_tokens.py), so a run refreshing
the same connection at that moment never has its new tokens overwritten by the rotated old
ones: a row whose lease is held is skipped and reported as ``busy`` (run the command again).
A token no configured key opens is reported as ``unreadable`` and left as it is (the
connection needs the user's consent again, or the missing old key back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from ..auth.secret_box import SecretBox
from ..errors import RecordNotFoundError, SecretUnreadableError
from ..store.base import Store
from ..store.records import Integration, Scope, utcnow

__all__ = ["RotationReport", "rotate_connection_secrets"]

_LEASE: Final = timedelta(seconds=30)
_EVERYONE: Final = Scope("secret-rotation", is_admin=True)
_COLUMNS: Final = ("access_token_encrypted", "refresh_token_encrypted")


@dataclass
class RotationReport:
    rotated: int = 0  # connections re-encrypted
    busy: list[str] = field(default_factory=list)  # ids whose lease was held: try again
    unreadable: list[str] = field(default_factory=list)  # ids no configured key opens


def rotate_connection_secrets(
    store: Store, box: SecretBox, *, clock: Callable[[], datetime] = utcnow
) -> RotationReport:
    """Blocking (a command, or a store thread): rotate every connection of every user."""
    report = RotationReport()
    integrations = store.integrations
    for row in integrations.list(_EVERYONE):
        now = clock()
        if not integrations.take_refresh_lease(row.id, now + _LEASE, now):
            report.busy.append(row.id)
            continue
        try:
            _rotate_row(store, box, row.id, report)
        finally:
            integrations.release_refresh_lease(row.id)
    return report


def _rotate_row(store: Store, box: SecretBox, integration_id: str, report: RotationReport) -> None:
    try:
        row: Integration = store.integrations.get(_EVERYONE, integration_id)
    except RecordNotFoundError:
        return  # deleted meanwhile
    changes: dict[str, str] = {}
    for column in _COLUMNS:
        token = getattr(row, column)
        if token is None:
            continue
        try:
            changes[column] = box.rotate(token)
        except SecretUnreadableError:
            report.unreadable.append(row.id)
            return
    if changes:
        store.integrations.update(Scope(row.owner_id), row.id, **changes)
        report.rotated += 1
