"""Credentials of users: sessions, refresh tokens, API keys, login attempts, password resets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime

from ..records import ApiKey, PasswordReset, RefreshToken, Scope, Session

__all__ = ["CredentialStore"]


class CredentialStore(ABC):
    """Sessions, refresh tokens, API keys, login attempts and password resets."""

    @abstractmethod
    def create_session(
        self,
        user_id: str,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> Session: ...

    @abstractmethod
    def get_session(self, session_id: str) -> Session | None: ...

    @abstractmethod
    def touch_session(self, session_id: str, at: datetime) -> None: ...

    @abstractmethod
    def revoke_session(self, session_id: str, at: datetime) -> None: ...

    @abstractmethod
    def delete_expired_sessions(self, now: datetime) -> int: ...

    @abstractmethod
    def add_refresh_token(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> RefreshToken: ...

    @abstractmethod
    def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abstractmethod
    def revoke_refresh_token(
        self, token_id: str, at: datetime, *, replaced_by: str | None = None
    ) -> None: ...

    @abstractmethod
    def create_api_key(
        self,
        scope: Scope,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
    ) -> ApiKey: ...

    @abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """For authentication: any owner's key, revoked ones included (the caller checks)."""

    @abstractmethod
    def list_api_keys(self, scope: Scope) -> list[ApiKey]: ...

    @abstractmethod
    def revoke_api_key(self, scope: Scope, key_id: str, at: datetime) -> None: ...

    @abstractmethod
    def touch_api_key(self, key_id: str, at: datetime) -> None: ...

    @abstractmethod
    def record_login_attempt(
        self, username: str, succeeded: bool, at: datetime, *, ip: str | None = None
    ) -> None: ...

    @abstractmethod
    def count_failed_logins(self, username: str, since: datetime) -> int:
        """Failed attempts for ``username`` (case-insensitive) at or after ``since``."""

    @abstractmethod
    def create_password_reset(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> PasswordReset: ...

    @abstractmethod
    def find_password_reset(self, token_hash: str) -> PasswordReset | None: ...

    @abstractmethod
    def use_password_reset(self, reset_id: str, at: datetime) -> None: ...
