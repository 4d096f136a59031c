"""Connections to outside accounts and their OAuth states, on every backend (issue 18).

CRUD and owner scoping, one connection per owner/provider/account, the refresh lease (two
takers at once: exactly one wins; an expired lease can be taken), OAuth states single-use and
bound to their user, pruning; last, migration 0006 up and down on a database that already
holds a connection (its token is kept as the access token).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import JSON, Text, column, create_engine, insert, inspect, select, table
from sqlalchemy.engine import make_url

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store import migrate, tables
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.records import OAuthState, Scope, new_id
from workscript_jupyter.store.sql import SqlStore
from workscript_jupyter.store.tables import UtcDateTime

from .conftest import race

NOW = datetime(2024, 8, 1, 8, 0, 0, 1234, tzinfo=UTC)
T = TypeVar("T")
# the integrations table as revision 0005 left it (tables.py describes the head)
OLD_INTEGRATIONS = table(
    "integrations",
    column("id"),
    column("owner_id"),
    column("provider"),
    column("account_email"),
    column("scopes", JSON),
    column("token_encrypted", Text),
    column("created_at", UtcDateTime()),
    column("updated_at", UtcDateTime()),
)


# -- connections ---------------------------------------------------------------------------------


def test_connection_crud_and_scoping(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    expires = NOW + timedelta(hours=1)
    created = store.integrations.create(
        alice,
        provider="google",
        account_id="1001",
        account_email="alice@gmail.com",
        account_name="Alice",
        scopes=["drive.readonly", "sheets"],
        access_token_encrypted="gAAAAB-access",
        refresh_token_encrypted="gAAAAB-refresh",
        expires_at=expires,
    )
    assert created.name == "alice@gmail.com"  # the default label
    assert (created.status, created.refreshing_until, created.last_used_at) == (
        "active",
        None,
        None,
    )
    assert created.scopes == ("drive.readonly", "sheets") and created.expires_at == expires
    assert store.integrations.get(alice, created.id) == created
    updated = store.integrations.update(
        alice,
        created.id,
        name="Work drive",
        access_token_encrypted="new",
        scopes=("a",),
        status="needs_consent",
        last_error="x" * 5000,
        last_refreshed_at=NOW,
    )
    assert (updated.name, updated.access_token_encrypted, updated.scopes) == (
        "Work drive",
        "new",
        ("a",),
    )
    assert updated.status == "needs_consent" and updated.last_error == "x" * 1000
    assert updated.last_refreshed_at == NOW
    assert store.integrations.get(alice, created.id) == updated
    assert store.integrations.get_by_account(alice, "google", "1001") == updated
    assert store.integrations.get_by_account(bob, "google", "1001") is None
    assert store.integrations.get_by_account(alice, "google", "9999") is None

    other = store.integrations.create(alice, provider="slack")
    assert other.name == "slack"  # no email: the provider
    bobs = store.integrations.create(bob, provider="google", account_id="1001")
    for call in (
        lambda: store.integrations.get(bob, created.id),
        lambda: store.integrations.update(bob, created.id, name="mine"),
        lambda: store.integrations.delete(bob, created.id),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
    assert store.integrations.get(alice, created.id) == updated
    assert [i.id for i in store.integrations.list(alice)] == [other.id, created.id]
    assert [i.id for i in store.integrations.list(alice, provider="google")] == [created.id]
    assert [i.id for i in store.integrations.list(bob)] == [bobs.id]
    assert len(store.integrations.list(admin, provider="google")) == 2
    assert store.integrations.get(admin, created.id) == updated
    store.integrations.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.integrations.get(alice, created.id)
    assert store.integrations.get(alice, other.id) == other
    assert store.integrations.get(bob, bobs.id) == bobs


def test_bad_connection_values_are_refused(store: Store, alice: Scope) -> None:
    created = store.integrations.create(alice, provider="google", account_id="1")
    bad: dict[str, Any]
    for bad in (
        {"provider": "github"},
        {"nonsense": 1},
        {"refreshing_until": NOW},  # only through the lease
        {"status": "broken"},
        {"name": ""},
        {"name": "n" * 256},
        {"account_email": "e" * 321},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            store.integrations.update(alice, created.id, **bad)
        if "provider" not in bad:
            with pytest.raises(ValueError, match=next(iter(bad))):
                store.integrations.create(alice, provider="google", **bad)
    assert store.integrations.get(alice, created.id) == created


def test_one_connection_per_owner_provider_and_account(
    store: Store, alice: Scope, bob: Scope
) -> None:
    first = store.integrations.create(alice, provider="google", account_id="42")
    with pytest.raises(ConflictError, match="already connected"):
        store.integrations.create(alice, provider="google", account_id="42")
    store.integrations.create(alice, provider="slack", account_id="42")  # another provider
    store.integrations.create(bob, provider="google", account_id="42")  # another owner
    second = store.integrations.create(alice, provider="google", account_id="43")
    with pytest.raises(ConflictError, match="already connected"):
        store.integrations.update(alice, second.id, account_id="42")
    # connections with no account id yet do not collide
    store.integrations.create(alice, provider="google")
    store.integrations.create(alice, provider="google")
    assert store.integrations.get(alice, first.id) == first


def test_touch_used(store: Store, alice: Scope) -> None:
    created = store.integrations.create(alice, provider="google", account_id="7")
    store.integrations.touch_used(created.id, NOW)
    assert store.integrations.get(alice, created.id).last_used_at == NOW
    store.integrations.touch_used("gone", NOW)  # deleted meanwhile: nothing to do


# -- the refresh lease ---------------------------------------------------------------------------


def test_refresh_lease_is_held_by_one_taker(store: Store, twin: Store, alice: Scope) -> None:
    created = store.integrations.create(alice, provider="google", account_id="8")
    until = NOW + timedelta(seconds=30)
    for _ in range(3):
        results = race(
            [
                lambda: store.integrations.take_refresh_lease(created.id, until, NOW),
                lambda: twin.integrations.take_refresh_lease(created.id, until, NOW),
            ]
        )
        assert sorted(results) == [False, True]
        assert store.integrations.get(alice, created.id).refreshing_until == until
        # held: refused until released or expired
        assert not store.integrations.take_refresh_lease(
            created.id, until, NOW + timedelta(seconds=29)
        )
        store.integrations.release_refresh_lease(created.id)
        assert store.integrations.get(alice, created.id).refreshing_until is None


def test_an_expired_refresh_lease_can_be_taken(store: Store, alice: Scope) -> None:
    created = store.integrations.create(alice, provider="google", account_id="9")
    assert store.integrations.take_refresh_lease(created.id, NOW, NOW - timedelta(seconds=30))
    assert not store.integrations.take_refresh_lease(created.id, NOW + timedelta(minutes=1), NOW)
    later = NOW + timedelta(minutes=2)
    assert store.integrations.take_refresh_lease(created.id, later, NOW + timedelta(seconds=1))
    assert store.integrations.get(alice, created.id).refreshing_until == later
    assert not store.integrations.take_refresh_lease("unknown", later, NOW)


# -- OAuth states --------------------------------------------------------------------------------


def _state(user_id: str, *, expires_at: datetime = NOW + timedelta(minutes=10)) -> OAuthState:
    return OAuthState(
        state="s-" + new_id(),
        user_id=user_id,
        provider="google",
        code_verifier="v" * 64,
        redirect_uri="http://localhost:8888/workscript/auth/google/callback?x=1",
        created_at=NOW,
        expires_at=expires_at,
        scopes=("openid", "email"),
        return_to="/lab/tree/a.ipynb",
    )


def test_oauth_states_are_single_use(store: Store, twin: Store, alice: Scope) -> None:
    state = _state(alice.user_id)
    store.integrations.save_oauth_state(state)
    with pytest.raises(ConflictError):
        store.integrations.save_oauth_state(state)
    at = NOW + timedelta(minutes=1)
    popped = race(
        [
            lambda: store.integrations.pop_oauth_state(state.state, alice.user_id, at),
            lambda: twin.integrations.pop_oauth_state(state.state, alice.user_id, at),
        ]
    )
    assert sorted(popped, key=lambda p: p is None) == [state, None]
    assert store.integrations.pop_oauth_state(state.state, alice.user_id, at) is None
    assert store.integrations.pop_oauth_state("unknown", alice.user_id, NOW) is None


def test_a_foreign_oauth_state_is_refused_and_consumed(
    store: Store, alice: Scope, bob: Scope
) -> None:
    state = _state(alice.user_id)
    store.integrations.save_oauth_state(state)
    assert store.integrations.pop_oauth_state(state.state, bob.user_id, NOW) is None
    assert store.integrations.pop_oauth_state(state.state, alice.user_id, NOW) is None


def test_an_oauth_state_alone_identifies_its_flow_once(store: Store, alice: Scope) -> None:
    """The callback reached without a login passes no user: the state is enough, once."""
    state = _state(alice.user_id)
    store.integrations.save_oauth_state(state)
    assert store.integrations.pop_oauth_state(state.state, None, NOW) == state
    assert store.integrations.pop_oauth_state(state.state, None, NOW) is None
    expired = _state(alice.user_id, expires_at=NOW)
    store.integrations.save_oauth_state(expired)
    assert store.integrations.pop_oauth_state(expired.state, None, NOW) is None


def test_expired_oauth_states_are_refused_and_pruned(store: Store, alice: Scope) -> None:
    old = _state(alice.user_id, expires_at=NOW)
    store.integrations.save_oauth_state(old)
    assert store.integrations.pop_oauth_state(old.state, alice.user_id, NOW) is None
    stale = [_state(alice.user_id, expires_at=NOW - timedelta(seconds=i)) for i in range(3)]
    live = _state(alice.user_id)
    for state in (*stale, live):
        store.integrations.save_oauth_state(state)
    assert store.integrations.prune_oauth_states(NOW) == 3
    assert store.integrations.prune_oauth_states(NOW) == 0
    assert store.integrations.pop_oauth_state(stale[1].state, alice.user_id, NOW) is None
    assert store.integrations.pop_oauth_state(live.state, alice.user_id, NOW) == live


# -- migration 0006 on a database that already holds a connection ------------------------------


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def migration_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own: a SQLite file, or ``workscript_m0006_<pid>``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm0006.sqlite'}"
        return
    server = make_url(request.getfixturevalue("mysql_url")).set(database="")
    database = f"workscript_m0006_{os.getpid()}"
    root = create_engine(server)
    try:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            connection.exec_driver_sql(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with root.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
        root.dispose()


def test_migration_0006_up_and_down_keeps_an_existing_connection(migration_url: str) -> None:
    migrate.upgrade(migration_url, "0005")
    engine = create_store_engine(migration_url)
    try:
        user_id, with_email, without = new_id(), new_id(), new_id()
        with engine.begin() as connection:
            connection.execute(
                insert(tables.users).values(
                    id=user_id,
                    username="Old",
                    username_key="old",
                    roles=["user"],
                    is_active=True,
                    source="local",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            for row_id, email in ((with_email, "old@gmail.com"), (without, None)):
                connection.execute(
                    insert(OLD_INTEGRATIONS).values(
                        id=row_id,
                        owner_id=user_id,
                        provider="google",
                        account_email=email,
                        scopes=["drive"],
                        token_encrypted=f"cipher-{row_id}",
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )

        migrate.upgrade(migration_url)
        assert migrate.drift(engine) == []
        store = SqlStore(engine)
        scope = Scope(user_id)
        kept = store.integrations.get(scope, with_email)
        assert (kept.name, kept.status, kept.scopes) == ("old@gmail.com", "active", ("drive",))
        assert kept.access_token_encrypted == f"cipher-{with_email}"
        assert kept.refresh_token_encrypted is None and kept.account_id is None
        assert store.integrations.get(scope, without).name == "google"
        store.integrations.update(scope, with_email, access_token_encrypted="rotated")

        migrate.downgrade(migration_url, "0005")
        columns = {c["name"] for c in inspect(engine).get_columns("integrations")}
        assert "token_encrypted" in columns and "access_token_encrypted" not in columns
        assert not {"scopes", "return_to"} & {
            c["name"] for c in inspect(engine).get_columns("oauth_states")
        }
        with engine.connect() as connection:
            old = OLD_INTEGRATIONS.c
            tokens = connection.execute(select(old.id, old.token_encrypted)).all()
        assert dict(tokens) == {with_email: "rotated", without: f"cipher-{without}"}

        migrate.upgrade(migration_url)
        assert migrate.drift(engine) == []
        again = SqlStore(engine).integrations.get(scope, with_email)
        assert again.access_token_encrypted == "rotated"
    finally:
        engine.dispose()
