"""Automations (CRUD, scoping, due, webhooks) and fires (the exactly-once claim)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from workscript_jupyter.errors import (
    ConflictError,
    FireAlreadyClaimedError,
    RecordNotFoundError,
    StoreError,
)
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import (
    Automation,
    ExecutionRecord,
    FireClaim,
    ScheduleFire,
    Scope,
    new_id,
)

from .conftest import walk

TICK = datetime(2024, 6, 1, 9, 30, 0, 250000, tzinfo=UTC)


def cron(store: Store, scope: Scope, name: str = "nightly", **fields: object) -> Automation:
    values: dict[str, object] = {"cron_expression": "0 30 9 * * *", "workflow_id": "wf"}
    values.update(fields)
    return store.automations.create(scope, name=name, trigger_type="cron", **values)


def test_create_every_field_and_get(store: Store, alice: Scope) -> None:
    next_run = datetime(2024, 6, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-4)))
    created = store.automations.create(
        alice,
        name="Every morning",
        trigger_type="cron",
        workflow_id="wf-1",
        notebook_path="reports/daily.ipynb",
        parameters={"region": "eu", "ids": [1, 2], "opts": {"dry": True}, "名": "値"},
        cron_expression="0 0 8 * * 1-5",
        timezone="Europe/Paris",
        webhook_token_hash="a" * 64,
        enabled=False,
        misfire_policy="run_all",
        misfire_grace_seconds=120,
        overlap_policy="queue",
        retry_count=3,
        retry_delay_seconds=1.5,
        retry_backoff=3.0,
        timeout_seconds=90.0,
        next_run_at=next_run,
        last_run_at=TICK,
    )
    assert created.owner_id == alice.user_id and len(created.id) == 32
    got = store.automations.get(alice, created.id)
    assert got == created
    assert got.parameters == {"region": "eu", "ids": [1, 2], "opts": {"dry": True}, "名": "値"}
    assert got.next_run_at == next_run and got.next_run_at is not None
    assert got.next_run_at.utcoffset() == timedelta(0)
    assert (got.enabled, got.misfire_policy, got.overlap_policy) == (False, "run_all", "queue")
    assert (got.retry_count, got.retry_delay_seconds, got.timeout_seconds) == (3, 1.5, 90.0)


def test_defaults(store: Store, alice: Scope) -> None:
    created = store.automations.create(alice, name="manual", trigger_type="manual")
    assert created.parameters == {} and created.enabled is True
    assert (created.timezone, created.misfire_policy, created.overlap_policy) == (
        "UTC",
        "run_once",
        "skip",
    )
    assert created.next_run_at is None and created.webhook_token_hash is None


def test_create_refuses_unknown_fields(store: Store, alice: Scope) -> None:
    with pytest.raises(ValueError, match="colour"):
        store.automations.create(alice, name="x", trigger_type="manual", colour="red")
    assert store.automations.list(alice).items == ()


def test_update_and_refuse_unknown_fields(store: Store, alice: Scope) -> None:
    created = cron(store, alice)
    later = TICK + timedelta(days=1)
    updated = store.automations.update(
        alice, created.id, enabled=False, next_run_at=later, parameters={"k": [1]}
    )
    assert (updated.enabled, updated.next_run_at, updated.parameters) == (False, later, {"k": [1]})
    assert updated.updated_at >= created.updated_at and updated.created_at == created.created_at
    with pytest.raises(ValueError, match="owner_id"):
        store.automations.update(alice, created.id, name="renamed", owner_id="someone")
    assert store.automations.get(alice, created.id) == updated


def test_delete(store: Store, alice: Scope) -> None:
    created = cron(store, alice)
    store.automations.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.automations.get(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.automations.delete(alice, created.id)


def test_owner_scoping(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    mine = cron(store, alice, "alice's")
    theirs = cron(store, bob, "bob's")
    for call in (
        lambda: store.automations.get(bob, mine.id),
        lambda: store.automations.update(bob, mine.id, enabled=False),
        lambda: store.automations.delete(bob, mine.id),
        lambda: store.fires.list(bob, mine.id),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
    assert store.automations.get(alice, mine.id).enabled is True
    assert [a.id for a in store.automations.list(alice).items] == [mine.id]
    assert {a.id for a in store.automations.list(admin).items} == {mine.id, theirs.id}
    assert store.automations.update(admin, mine.id, enabled=False).owner_id == alice.user_id
    store.automations.delete(admin, theirs.id)
    assert store.automations.list(bob).items == ()


def test_list_filters(store: Store, alice: Scope) -> None:
    on = cron(store, alice, "on")
    off = cron(store, alice, "off", enabled=False)
    hook = store.automations.create(alice, name="hook", trigger_type="webhook")
    assert [a.id for a in walk(store.automations.list, limit=1, scope=alice)] == [
        hook.id,
        off.id,
        on.id,
    ]
    assert {a.id for a in store.automations.list(alice, enabled=True).items} == {on.id, hook.id}
    assert [a.id for a in store.automations.list(alice, enabled=False).items] == [off.id]
    assert [a.id for a in store.automations.list(alice, trigger_type="cron").items] == [
        off.id,
        on.id,
    ]


def test_due(store: Store, alice: Scope, bob: Scope) -> None:
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    late = cron(store, alice, "late", next_run_at=now - timedelta(hours=2))
    exact = cron(store, bob, "exact", next_run_at=now)
    recent = cron(store, alice, "recent", next_run_at=now - timedelta(minutes=1))
    cron(store, alice, "future", next_run_at=now + timedelta(seconds=1))
    cron(store, alice, "disabled", next_run_at=now - timedelta(hours=5), enabled=False)
    cron(store, alice, "unscheduled")
    assert [a.id for a in store.automations.due(now)] == [late.id, recent.id, exact.id]
    assert [a.id for a in store.automations.due(now, limit=2)] == [late.id, recent.id]
    assert store.automations.due(now - timedelta(days=1)) == []


def test_webhook_hash_lookup_and_uniqueness(store: Store, alice: Scope, bob: Scope) -> None:
    hooked = store.automations.create(
        alice, name="hook", trigger_type="webhook", webhook_token_hash="f" * 64
    )
    found = store.automations.find_by_webhook_hash("f" * 64)
    assert found is not None and found.id == hooked.id
    assert store.automations.find_by_webhook_hash("0" * 64) is None
    with pytest.raises(ConflictError):
        store.automations.create(
            bob, name="copy", trigger_type="webhook", webhook_token_hash="f" * 64
        )
    other = store.automations.create(bob, name="other", trigger_type="webhook")
    with pytest.raises(ConflictError):
        store.automations.update(bob, other.id, webhook_token_hash="f" * 64)
    assert store.automations.get(bob, other.id).webhook_token_hash is None


# -- fires ---------------------------------------------------------------------------------------


def test_claim_and_record(store: Store, alice: Scope) -> None:
    auto = cron(store, alice)
    fire = store.fires.claim(auto.id, TICK, "server-a")
    assert isinstance(fire, ScheduleFire)
    assert (fire.automation_id, fire.scheduled_for, fire.claimed_by, fire.outcome) == (
        auto.id,
        TICK,
        "server-a",
        "claimed",
    )
    assert fire.claimed_at.utcoffset() == timedelta(0)
    run = store.executions.create(alice, automation_id=auto.id, trigger="cron")
    fired = store.fires.record(fire.id, "fired", execution_id=run.id)
    assert (fired.outcome, fired.execution_id) == ("fired", run.id)
    skipped = store.fires.claim(auto.id, TICK + timedelta(minutes=1), "server-a")
    noted = store.fires.record(skipped.id, "skipped", reason="previous run still running")
    assert (noted.outcome, noted.reason) == ("skipped", "previous run still running")
    listed = store.fires.list(alice, auto.id).items
    assert [(f.id, f.outcome) for f in listed] == [(skipped.id, "skipped"), (fired.id, "fired")]
    assert listed[1].execution_id == run.id and listed[1].scheduled_for == TICK


def test_second_claim_of_a_tick_fails_and_keeps_the_first(store: Store, alice: Scope) -> None:
    auto = cron(store, alice)
    first = store.fires.claim(auto.id, TICK, "server-a")
    with pytest.raises(FireAlreadyClaimedError):
        store.fires.claim(auto.id, TICK, "server-b")
    same_instant = TICK.astimezone(timezone(timedelta(hours=9)))
    with pytest.raises(FireAlreadyClaimedError):
        store.fires.claim(auto.id, same_instant, "server-c")
    (kept,) = store.fires.list(alice, auto.id).items
    assert (kept.id, kept.claimed_by, kept.outcome) == (first.id, "server-a", "claimed")
    # the store still works after the refused insert
    other = cron(store, alice, "other")
    assert store.fires.claim(other.id, TICK, "server-b").claimed_by == "server-b"
    assert store.fires.claim(auto.id, TICK + timedelta(microseconds=1), "server-b")


def test_concurrent_claims_have_one_winner(store: Store, alice: Scope) -> None:
    auto = cron(store, alice)
    barrier = threading.Barrier(6)
    won: list[str] = []
    lost: list[str] = []
    other: list[BaseException] = []

    def contend(name: str) -> None:
        barrier.wait()
        try:
            store.fires.claim(auto.id, TICK, name)
            won.append(name)
        except FireAlreadyClaimedError:
            lost.append(name)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            other.append(exc)

    threads = [threading.Thread(target=contend, args=(f"s{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not other, other
    assert len(won) == 1 and len(lost) == 5
    (fire,) = store.fires.list(alice, auto.id).items
    assert fire.claimed_by == won[0]


def test_claim_for_a_missing_automation_is_not_a_lost_race(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        store.fires.claim(new_id(), TICK, "server-a")
    assert not isinstance(caught.value, FireAlreadyClaimedError)


def test_record_a_missing_fire(store: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        store.fires.record(new_id(), "fired")


def test_fires_page_newest_tick_first(store: Store, alice: Scope, admin: Scope) -> None:
    auto = cron(store, alice)
    ticks = [TICK + timedelta(minutes=m) for m in (5, 0, 9, 3, 7, 1, 8)]  # claimed out of order
    for tick in ticks:
        store.fires.claim(auto.id, tick, "server-a")
    listed = walk(store.fires.list, limit=3, scope=alice, automation_id=auto.id)
    assert [f.scheduled_for for f in listed] == sorted(ticks, reverse=True)
    assert len(store.fires.list(admin, auto.id).items) == len(ticks)


def test_deleting_an_automation_deletes_its_fires(store: Store, alice: Scope) -> None:
    auto = cron(store, alice)
    fire = store.fires.claim(auto.id, TICK, "server-a")
    keep = cron(store, alice, "keep")
    kept = store.fires.claim(keep.id, TICK, "server-a")
    store.automations.delete(alice, auto.id)
    with pytest.raises(RecordNotFoundError):
        store.fires.record(fire.id, "fired")
    with pytest.raises(RecordNotFoundError):
        store.fires.list(alice, auto.id)
    assert [f.id for f in store.fires.list(alice, keep.id).items] == [kept.id]


def test_a_claim_writes_its_outcome_and_its_run_in_one_transaction(
    store: Store, alice: Scope
) -> None:
    auto = cron(store, alice)
    run = ExecutionRecord(
        id=new_id(),
        owner_id=alice.user_id,
        status="queued",
        trigger="cron",
        automation_id=auto.id,
        trigger_data={"scheduledFor": TICK.isoformat()},
    )
    fire = store.fires.claim(auto.id, TICK, "server-a", outcome="fired", run=run)
    assert (fire.outcome, fire.execution_id) == ("fired", run.id)
    stored = store.executions.get(alice, run.id)
    assert (stored.status, stored.automation_id, stored.trigger_data["scheduledFor"]) == (
        "queued",
        auto.id,
        TICK.isoformat(),
    )
    # the losing server's run is not inserted: the whole claim is refused
    loser = ExecutionRecord(id=new_id(), owner_id=alice.user_id, status="queued")
    with pytest.raises(FireAlreadyClaimedError):
        store.fires.claim(auto.id, TICK, "server-b", outcome="fired", run=loser)
    with pytest.raises(RecordNotFoundError):
        store.executions.get(alice, loser.id)
    skipped = store.fires.claim(
        auto.id, TICK + timedelta(seconds=5), "server-a", outcome="skipped", reason="overlap"
    )
    listed = store.fires.list(alice, auto.id).items
    assert [(f.id, f.outcome, f.reason) for f in listed] == [
        (skipped.id, "skipped", "overlap"),
        (fire.id, "fired", None),
    ]


def test_claim_many_claims_each_tick_with_its_run_at_once(store: Store, alice: Scope) -> None:
    autos = [cron(store, alice, f"a{i}") for i in range(3)]
    runs = [
        ExecutionRecord(id=new_id(), owner_id=alice.user_id, status="queued", automation_id=a.id)
        for a in autos
    ]
    claims = [
        FireClaim(a.id, TICK, outcome="fired", run=run) for a, run in zip(autos, runs, strict=True)
    ]
    fires = store.fires.claim_many(claims, "server-a")
    assert [f.execution_id if f else None for f in fires] == [r.id for r in runs]
    assert all(store.executions.get(alice, r.id).status == "queued" for r in runs)
    # a second batch: one tick already taken, one new, one automation deleted meanwhile
    store.automations.delete(alice, autos[2].id)
    again = store.fires.claim_many(
        [
            FireClaim(autos[0].id, TICK, outcome="fired"),
            FireClaim(autos[1].id, TICK + timedelta(seconds=5), outcome="skipped", reason="r"),
            FireClaim(autos[2].id, TICK + timedelta(seconds=5), outcome="fired"),
        ],
        "server-b",
    )
    assert again[0] is None and again[2] is None
    assert again[1] is not None and (again[1].outcome, again[1].reason) == ("skipped", "r")
    assert len(store.fires.list(alice, autos[0].id).items) == 1
    assert len(store.fires.list(alice, autos[1].id).items) == 2


def test_set_run_times_leaves_updated_at_alone(store: Store, alice: Scope) -> None:
    first, second = cron(store, alice, "one"), cron(store, alice, "two")
    later = TICK + timedelta(minutes=1)
    store.automations.set_run_times(
        [(first.id, later, TICK), (second.id, None, TICK), (new_id(), later, None)]
    )
    one, two = store.automations.get(alice, first.id), store.automations.get(alice, second.id)
    assert (one.next_run_at, one.last_run_at) == (later, TICK)
    assert (two.next_run_at, two.last_run_at) == (None, TICK)
    assert one.updated_at == first.updated_at


def test_active_runs_of_many_automations_in_one_call(store: Store, alice: Scope) -> None:
    busy, idle, done = (cron(store, alice, name) for name in ("busy", "idle", "done"))
    running = store.executions.create(alice, status="running", automation_id=busy.id)
    store.executions.create(alice, status="completed", automation_id=done.id)
    store.executions.create(alice, status="queued")  # not an automation's
    found = store.executions.active_for_automations([busy.id, idle.id, done.id, busy.id])
    assert found == {busy.id: running.id}
    assert store.executions.active_for_automations([]) == {}
