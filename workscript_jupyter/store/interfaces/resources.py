"""Resources: bytes a user keeps in the store (prompts, documents, data, images, audio), one
per owner and path, with the original's metadata.

Rules every backend keeps, beyond ``store.base``'s:

- The store computes ``size`` and ``checksum`` (SHA-256, hex) from ``content`` on every write;
  callers never pass them.
- A public resource (``is_public``) is readable by everyone: ``get`` and ``list`` (with
  ``public="include"`` or ``"only"``) return it to any scope. It is changed or deleted only by
  its owner or an admin: for anyone else ``update`` and ``delete`` raise
  ``RecordNotFoundError``, exactly as for a private one (the service decides what to tell).
- ``get_by_path`` looks among the scope's *own* resources: paths are a per-owner namespace,
  so even an admin resolves a path among their own (other users' are reached by id).
- ``list`` never loads content: its records carry ``content=b""`` (a page of 200 images must
  not cost gigabytes), with the real ``size`` and ``checksum``.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Final

from ..records import Page, Resource, Scope, new_id, utcnow

__all__ = [
    "PUBLIC_CHOICES",
    "RESOURCE_FIELDS",
    "RESOURCE_TYPES",
    "ResourceStore",
    "check_public",
    "content_digest",
]

RESOURCE_FIELDS: Final = frozenset(
    {"path", "name", "type", "mime_type", "content", "description", "tags", "is_public"}
)
RESOURCE_TYPES: Final = ("prompt", "document", "data", "image", "audio")
# which rows ``list`` returns besides the scope's own: none, other users' public ones too, or
# only public ones (the scope's own public ones included)
PUBLIC_CHOICES: Final = ("exclude", "include", "only")


def content_digest(content: Any) -> tuple[int, str]:
    """``(size, checksum)`` of ``content``; anything but bytes is a ValueError (text is the
    caller's to encode: the store never guesses an encoding)."""
    if not isinstance(content, bytes | bytearray | memoryview):
        raise ValueError(f"a resource's content must be bytes, not {type(content).__name__}")
    data = bytes(content)
    return len(data), hashlib.sha256(data).hexdigest()


class ResourceStore(ABC):
    def create(
        self,
        scope: Scope,
        *,
        path: str,
        name: str,
        content: bytes,
        type: str = "document",
        mime_type: str = "application/octet-stream",
        description: str | None = None,
        tags: Sequence[str] = (),
        is_public: bool = False,
    ) -> Resource:
        """One resource per owner and path: a second is a ConflictError."""
        size, checksum = content_digest(content)
        now = utcnow()
        record = Resource(
            id=new_id(),
            owner_id=scope.user_id,
            path=path,
            name=name,
            type=type,
            mime_type=mime_type,
            content=bytes(content),
            size=size,
            checksum=checksum,
            description=description,
            tags=[str(tag) for tag in tags],
            is_public=bool(is_public),
            created_at=now,
            updated_at=now,
        )
        return self.insert(record)

    @abstractmethod
    def insert(self, record: Resource) -> Resource:
        """Store a new ``record`` (its owner's; size and checksum already computed); a path
        its owner already has is a ConflictError."""

    @abstractmethod
    def get(self, scope: Scope, resource_id: str) -> Resource:
        """The scope's own resource, any for an admin, or anyone's public one."""

    @abstractmethod
    def get_by_path(self, scope: Scope, path: str) -> Resource:
        """The scope's own resource at ``path``."""

    @abstractmethod
    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource:
        """``changes`` among ``RESOURCE_FIELDS``; new ``content`` recomputes size and checksum.
        Only the owner (or an admin) may: anyone else gets RecordNotFoundError."""

    @abstractmethod
    def delete(self, scope: Scope, resource_id: str) -> None:
        """Only the owner (or an admin) may: anyone else gets RecordNotFoundError."""

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        type: str | None = None,
        tags: Sequence[str] = (),
        search: str | None = None,
        path_prefix: str | None = None,
        public: str = "exclude",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Newest first, without content. ``tags``: every one must be on the resource (exact,
        case-sensitive). ``search``: a substring of the name, path or description, any case
        (SQLite folds ASCII letters only); ``%`` and ``_`` are plain characters.
        ``path_prefix``: case-sensitive. ``public``: one of ``PUBLIC_CHOICES``."""


def check_public(public: str) -> str:
    """``public`` if it is one of ``PUBLIC_CHOICES``, else a ValueError naming them."""
    if public not in PUBLIC_CHOICES:
        raise ValueError(f"public must be one of {', '.join(PUBLIC_CHOICES)}, not {public!r}")
    return public
