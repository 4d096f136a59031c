"""Users (unique names and emails, lookups, cascade on delete) and their credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import OAuthState, Scope, User, new_id, utcnow

from .conftest import walk

NOW = datetime(2024, 7, 1, 10, 0, 0, 500000, tzinfo=UTC)


def test_create_get_and_defaults(store: Store) -> None:
    user = store.users.create("Ada", email="Ada@Example.org", display_name="Ada L.")
    assert isinstance(user, User) and len(user.id) == 32
    assert (user.username, user.email, user.display_name) == ("Ada", "Ada@Example.org", "Ada L.")
    assert user.roles == ("user",) and not user.is_admin
    assert (user.is_active, user.source, user.external_id) == (True, "local", None)
    assert user.created_at.utcoffset() == timedelta(0)
    assert store.users.get(user.id) == user
    admin = store.users.create("boss", roles=["admin", "user"], source="hub", external_id="b-1")
    assert store.users.get(admin.id).roles == ("admin", "user")
    assert store.users.get(admin.id).is_admin


def test_missing_user(store: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        store.users.get(new_id())
    with pytest.raises(RecordNotFoundError):
        store.users.update(new_id(), display_name="x")
    with pytest.raises(RecordNotFoundError):
        store.users.delete(new_id())


def test_usernames_and_emails_are_unique_case_insensitively(store: Store) -> None:
    first = store.users.create("Grace", email="grace@example.org")
    with pytest.raises(ConflictError):
        store.users.create("gRACE")
    with pytest.raises(ConflictError):
        store.users.create("someone", email="GRACE@example.ORG")
    store.users.create("nomail1")
    store.users.create("nomail2")  # no email is not a duplicate email
    other = store.users.create("other", email="other@example.org")
    with pytest.raises(ConflictError):
        store.users.update(other.id, username="GRACE")
    with pytest.raises(ConflictError):
        store.users.update(other.id, email="Grace@Example.org")
    assert store.users.get(other.id) == other
    assert store.users.get(first.id) == first
    assert len(walk(store.users.list, limit=10)) == 4


def test_external_identity_is_unique(store: Store) -> None:
    store.users.create("hub-a", source="hub", external_id="123")
    with pytest.raises(ConflictError):
        store.users.create("hub-b", source="hub", external_id="123")
    store.users.create("google-a", source="google", external_id="123")


def test_find(store: Store) -> None:
    user = store.users.create("Linus", email="linus@example.org", source="hub", external_id="L")
    assert store.users.find(username="LINUS") == user
    assert store.users.find(email="Linus@Example.ORG") == user
    assert store.users.find(source="hub", external_id="L") == user
    assert store.users.find(source="google", external_id="L") is None
    assert store.users.find(username="nobody") is None


def test_update(store: Store) -> None:
    user = store.users.create("old")
    seen = NOW + timedelta(microseconds=3)
    updated = store.users.update(
        user.id,
        username="New",
        email="new@example.org",
        display_name="Newt",
        roles=("admin",),
        is_active=False,
        external_id="ext",
        last_login_at=seen,
    )
    assert updated.roles == ("admin",) and updated.is_admin
    assert (updated.username, updated.is_active, updated.last_login_at) == ("New", False, seen)
    assert updated.created_at == user.created_at and updated.updated_at >= user.updated_at
    assert store.users.get(user.id) == updated
    assert store.users.find(username="new") == updated


@pytest.mark.parametrize("field", ["password_hash", "source", "id", "created_at"])
def test_update_refuses_other_fields(store: Store, field: str) -> None:
    user = store.users.create("fixed")
    with pytest.raises(ValueError, match=field):
        store.users.update(user.id, display_name="changed", **{field: "x"})
    assert store.users.get(user.id) == user


def test_password_hash_is_kept_apart(store: Store) -> None:
    user = store.users.create("pw", password_hash="$2b$12$hash")
    assert store.users.get_password_hash(user.id) == "$2b$12$hash"
    assert "$2b$12$hash" not in repr(store.users.get(user.id))
    store.users.set_password_hash(user.id, "$2b$12$other")
    assert store.users.get_password_hash(user.id) == "$2b$12$other"
    store.users.set_password_hash(user.id, None)
    assert store.users.get_password_hash(user.id) is None
    with pytest.raises(RecordNotFoundError):
        store.users.set_password_hash(new_id(), "x")


def test_users_list_newest_first(store: Store) -> None:
    ids = [store.users.create(f"user{i}").id for i in range(7)]
    assert [u.id for u in walk(store.users.list, limit=3)] == ids[::-1]


def test_deleting_a_user_cascades(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    later = NOW + timedelta(days=1)
    session = store.credentials.create_session(alice.user_id, later)
    store.credentials.add_refresh_token(alice.user_id, "rt-hash", later)
    store.credentials.create_api_key(alice, name="k", prefix="wks_ab", key_hash="ak-hash")
    store.credentials.create_password_reset(alice.user_id, "pr-hash", later)
    store.integrations.save_oauth_state(
        OAuthState("st", alice.user_id, "google", "verifier", "http://x/cb", NOW, later)
    )
    workflow = store.workflows.create(alice, name="w", definition={})
    run = store.executions.create(alice, workflow_id=workflow.id)
    auto = store.automations.create(alice, name="a", trigger_type="cron")
    fire = store.fires.claim(auto.id, NOW, "s")
    resource = store.resources.create(alice, path="notes.txt", name="notes", content=b"hi")
    integration = store.integrations.create(alice, provider="google")
    store.ai.add_usage(alice, model="m", prompt_tokens=1, completion_tokens=1, cost=0.1)
    bobs = store.workflows.create(bob, name="bob's", definition={})

    store.users.delete(alice.user_id)

    with pytest.raises(RecordNotFoundError):
        store.users.get(alice.user_id)
    assert store.users.find(username="alice") is None
    assert store.credentials.get_session(session.id) is None
    assert store.credentials.find_refresh_token("rt-hash") is None
    assert store.credentials.find_api_key("ak-hash") is None
    assert store.credentials.find_password_reset("pr-hash") is None
    assert store.integrations.pop_oauth_state("st", alice.user_id, NOW) is None
    for get, row_id in (
        (store.workflows.get, workflow.id),
        (store.executions.get, run.id),
        (store.automations.get, auto.id),
        (store.resources.get, resource.id),
        (store.integrations.get, integration.id),
    ):
        with pytest.raises(RecordNotFoundError):
            get(admin, row_id)
    with pytest.raises(RecordNotFoundError):
        store.fires.record(fire.id, "fired")
    assert store.ai.usage_totals(admin)["requests"] == 0
    assert store.workflows.get(bob, bobs.id).name == "bob's"
    # the name is free again
    assert store.users.create("Alice").username == "Alice"


# -- sessions, refresh tokens ---------------------------------------------------------------


def test_sessions(store: Store, alice: Scope) -> None:
    expires = NOW + timedelta(hours=1)
    session = store.credentials.create_session(
        alice.user_id, expires, user_agent="Mozilla/5.0 ✓", ip="2001:db8::1"
    )
    assert len(session.id) >= 32 and session.user_id == alice.user_id
    got = store.credentials.get_session(session.id)
    assert got == session and got is not None and got.expires_at == expires
    seen = NOW + timedelta(minutes=5, microseconds=42)
    store.credentials.touch_session(session.id, seen)
    store.credentials.revoke_session(session.id, seen + timedelta(seconds=1))
    got = store.credentials.get_session(session.id)
    assert got is not None and got.last_seen_at == seen
    assert got.revoked_at == seen + timedelta(seconds=1)
    assert store.credentials.get_session(new_id()) is None


def test_delete_expired_sessions(store: Store, alice: Scope, bob: Scope) -> None:
    old = store.credentials.create_session(alice.user_id, NOW - timedelta(minutes=1))
    older = store.credentials.create_session(bob.user_id, NOW - timedelta(days=3))
    live = store.credentials.create_session(alice.user_id, NOW + timedelta(minutes=1))
    assert store.credentials.delete_expired_sessions(NOW) == 2
    assert store.credentials.get_session(old.id) is None
    assert store.credentials.get_session(older.id) is None
    assert store.credentials.get_session(live.id) is not None
    assert store.credentials.delete_expired_sessions(NOW) == 0


def test_refresh_tokens(store: Store, alice: Scope) -> None:
    token = store.credentials.add_refresh_token(alice.user_id, "h1", NOW + timedelta(days=7))
    assert store.credentials.find_refresh_token("h1") == token
    assert store.credentials.find_refresh_token("unknown") is None
    successor = store.credentials.add_refresh_token(alice.user_id, "h2", NOW + timedelta(days=7))
    store.credentials.revoke_refresh_token(token.id, NOW, replaced_by=successor.id)
    revoked = store.credentials.find_refresh_token("h1")
    assert revoked is not None and revoked.revoked_at == NOW
    assert revoked.replaced_by == successor.id
    assert store.credentials.find_refresh_token("h2") == successor
    with pytest.raises(ConflictError):
        store.credentials.add_refresh_token(alice.user_id, "h2", NOW)


# -- API keys --------------------------------------------------------------------------------


def test_api_keys(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    key = store.credentials.create_api_key(
        alice,
        name="ci",
        prefix="wks_abcd",
        key_hash="kh-1",
        scopes=["workflow:read", "workflow:execute"],
        expires_at=NOW + timedelta(days=30),
    )
    assert key.owner_id == alice.user_id
    assert key.scopes == ("workflow:read", "workflow:execute")
    assert store.credentials.find_api_key("kh-1") == key
    assert store.credentials.find_api_key("nope") is None
    second = store.credentials.create_api_key(alice, name="cli", prefix="wks_efgh", key_hash="kh-2")
    bobs = store.credentials.create_api_key(bob, name="bob", prefix="wks_ijkl", key_hash="kh-3")
    assert [k.id for k in store.credentials.list_api_keys(alice)] == [second.id, key.id]
    assert [k.id for k in store.credentials.list_api_keys(bob)] == [bobs.id]
    assert {k.id for k in store.credentials.list_api_keys(admin)} == {key.id, second.id, bobs.id}
    with pytest.raises(ConflictError):
        store.credentials.create_api_key(bob, name="dup", prefix="wks_x", key_hash="kh-1")

    with pytest.raises(RecordNotFoundError):
        store.credentials.revoke_api_key(bob, key.id, NOW)
    found = store.credentials.find_api_key("kh-1")
    assert found is not None and found.revoked_at is None
    store.credentials.revoke_api_key(alice, key.id, NOW)
    store.credentials.touch_api_key(second.id, NOW + timedelta(microseconds=9))
    store.credentials.revoke_api_key(admin, bobs.id, NOW)
    found = store.credentials.find_api_key("kh-1")
    assert found is not None and found.revoked_at == NOW  # revoked keys are still found
    found = store.credentials.find_api_key("kh-2")
    assert found is not None and found.last_used_at == NOW + timedelta(microseconds=9)
    found = store.credentials.find_api_key("kh-3")
    assert found is not None and found.revoked_at == NOW


# -- login attempts, password resets ---------------------------------------------------------


def test_failed_logins_are_counted_case_insensitively(store: Store) -> None:
    for minutes in (1, 2, 3):
        store.credentials.record_login_attempt("Eve", False, NOW + timedelta(minutes=minutes))
    store.credentials.record_login_attempt("EVE", False, NOW - timedelta(minutes=1), ip="10.0.0.1")
    store.credentials.record_login_attempt("eve", True, NOW + timedelta(minutes=4))
    store.credentials.record_login_attempt("mallory", False, NOW + timedelta(minutes=4))
    assert store.credentials.count_failed_logins("eve", NOW) == 3
    assert store.credentials.count_failed_logins("EvE", NOW - timedelta(hours=1)) == 4
    assert store.credentials.count_failed_logins("eve", NOW + timedelta(minutes=3)) == 1
    assert store.credentials.count_failed_logins("nobody", NOW) == 0


def test_password_resets(store: Store, alice: Scope) -> None:
    reset = store.credentials.create_password_reset(alice.user_id, "ph", NOW + timedelta(hours=1))
    assert store.credentials.find_password_reset("ph") == reset
    assert store.credentials.find_password_reset("other") is None
    used = utcnow()
    store.credentials.use_password_reset(reset.id, used)
    found = store.credentials.find_password_reset("ph")
    assert found is not None and found.used_at == used
    assert found.expires_at == NOW + timedelta(hours=1)
    with pytest.raises(ConflictError):
        store.credentials.create_password_reset(alice.user_id, "ph", NOW)


def test_changing_a_missing_credential_is_not_found(store: Store, alice: Scope) -> None:
    for call in (
        lambda: store.credentials.touch_session(new_id(), NOW),
        lambda: store.credentials.revoke_session(new_id(), NOW),
        lambda: store.credentials.revoke_refresh_token(new_id(), NOW),
        lambda: store.credentials.revoke_api_key(alice, new_id(), NOW),
        lambda: store.credentials.touch_api_key(new_id(), NOW),
        lambda: store.credentials.use_password_reset(new_id(), NOW),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
