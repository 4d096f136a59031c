"""Password rules and bcrypt hashing: every rule alone, verification that never raises and
costs the same for an unknown user, and hashing that leaves the event loop free."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

import bcrypt
import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from workscript_jupyter.auth import (
    PASSWORD_MAX_BYTES,
    PasswordHasher,
    check_password_rules,
    is_common_password,
)
from workscript_jupyter.errors import BadRequestError, ConfigurationError

GOOD = "Correct7Horse"


def broken_rules(password: object, **kwargs: str) -> list[str]:
    with pytest.raises(BadRequestError) as caught:
        check_password_rules(password, **kwargs)
    err = caught.value
    if isinstance(password, str) and password:
        assert password not in err.message
        assert password not in repr(err.details)
    rules: list[str] = err.details["rules"]
    for rule in rules:
        assert rule in err.message
    return rules


# -- rules --------------------------------------------------------------------------------------


def test_a_good_password_passes() -> None:
    check_password_rules(GOOD)
    check_password_rules("Aa1" + "b" * 5)  # exactly 8 characters
    check_password_rules("Aa1" + "é" * 34 + "b")  # exactly 72 bytes


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Abcde1x", "at least 8 characters"),
        ("abcdefg1x", "an upper-case letter"),
        ("ABCDEFG1X", "a lower-case letter"),
        ("Abcdefghx", "a digit"),
        ("Aa1" + "é" * 35, f"at most {PASSWORD_MAX_BYTES} bytes in UTF-8"),  # 38 chars, 73 bytes
        ("Password1", "not one of the 1,000 most common passwords"),
        ("Qwerty123", "not one of the 1,000 most common passwords"),
        ("Passw0rd", "not one of the 1,000 most common passwords"),
    ],
)
def test_each_rule_alone(password: str, rule: str) -> None:
    assert broken_rules(password) == [rule]


def test_every_broken_rule_is_listed_with_the_field() -> None:
    with pytest.raises(BadRequestError) as caught:
        check_password_rules("", field="newPassword")
    assert caught.value.details == {
        "field": "newPassword",
        "rules": [
            "at least 8 characters",
            "an upper-case letter",
            "a lower-case letter",
            "a digit",
        ],
    }
    assert caught.value.message.startswith("newPassword must have: at least 8 characters; ")


@pytest.mark.parametrize("value", [None, 12345678, b"Correct7Horse", ["Correct7Horse"]])
def test_a_non_string_is_a_bad_request(value: object) -> None:
    with pytest.raises(BadRequestError, match="password must be a string"):
        check_password_rules(value)


def test_the_common_list_is_zxcvbns_first_thousand_case_insensitive() -> None:
    ranked = FREQUENCY_LISTS["passwords"]
    assert is_common_password(ranked[0])
    assert is_common_password(ranked[999])
    assert is_common_password(ranked[999].upper())
    assert not is_common_password(ranked[1000])  # rank 1,001: not refused
    assert is_common_password("PASSWORD1") and is_common_password("password1")
    assert not is_common_password(GOOD)


# -- hashing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [3, 32, "12", True, 12.0, None])
def test_rounds_out_of_range_name_the_setting(rounds: object) -> None:
    with pytest.raises(ConfigurationError, match="BCRYPT_ROUNDS"):
        PasswordHasher(rounds)  # type: ignore[arg-type]


def test_hash_and_verify() -> None:
    hasher = PasswordHasher(rounds=4)
    hashed = hasher.hash_sync(GOOD)
    assert hashed.startswith("$2b$04$") and GOOD not in hashed
    assert hasher.verify_sync(GOOD, hashed)
    assert not hasher.verify_sync(GOOD.lower(), hashed)
    assert not hasher.verify_sync(GOOD, None)
    assert hasher.hash_sync(GOOD) != hashed  # salted
    assert repr(hasher) == "PasswordHasher(rounds=4)"


def test_other_rounds_still_verify_and_need_a_rehash() -> None:
    hasher = PasswordHasher(rounds=4)
    older = bcrypt.hashpw(GOOD.encode(), bcrypt.gensalt(5)).decode()
    assert hasher.verify_sync(GOOD, older)
    assert hasher.needs_rehash(older)
    assert not hasher.needs_rehash(hasher.hash_sync(GOOD))
    assert hasher.needs_rehash("not a hash")


def test_a_password_over_72_bytes_is_never_cut() -> None:
    hasher = PasswordHasher(rounds=4)
    long = "Aa1" + "x" * 70  # 73 bytes: bcrypt would read only the first 72
    with pytest.raises(BadRequestError, match="at most 72 bytes") as caught:
        hasher.hash_sync(long)
    assert long not in str(caught.value)
    hashed = hasher.hash_sync(long[:72])
    assert not hasher.verify_sync(long, hashed)  # False, not an exception


@pytest.mark.parametrize(
    "hashed",
    [
        "",
        "garbage",
        "$2b$04$short",
        "$2b$99$" + "a" * 53,  # the shape, with a cost bcrypt refuses
        "$2b$04$" + "!" * 53,
    ],
)
def test_a_malformed_hash_verifies_false(hashed: str) -> None:
    assert PasswordHasher(rounds=4).verify_sync(GOOD, hashed) is False


@pytest.mark.parametrize("password", [None, 123, b"bytes"])
def test_a_non_string_password_verifies_false(password: object) -> None:
    hasher = PasswordHasher(rounds=4)
    assert hasher.verify_sync(password, hasher.hash_sync(GOOD)) is False  # type: ignore[arg-type]


def test_nul_and_lone_surrogates_hash_consistently() -> None:
    hasher = PasswordHasher(rounds=4)
    for password in ("Ab1\x00defgh", "Ab1\ud800defgh"):
        hashed = hasher.hash_sync(password)
        assert hasher.verify_sync(password, hashed)
        assert not hasher.verify_sync(password[:3], hashed)


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def test_an_unknown_user_costs_a_bcrypt_check() -> None:
    hasher = PasswordHasher(rounds=10)
    hashed = hasher.hash_sync(GOOD)
    hasher.verify_sync("warm-up", None)  # the dummy hash is made once, on first use
    calls: dict[str, Callable[[], object]] = {
        "wrong password": lambda: hasher.verify_sync("Wrong7Horse", hashed),
        "unknown user": lambda: hasher.verify_sync("Wrong7Horse", None),
        "over 72 bytes": lambda: hasher.verify_sync("x" * 100, hashed),
        "malformed hash": lambda: hasher.verify_sync("Wrong7Horse", "garbage"),
    }
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(7):  # interleaved, so a busy moment of the machine hits every kind alike
        for name, call in calls.items():
            samples[name].append(_seconds(call))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    wrong = medians["wrong password"]
    for seconds in medians.values():
        assert 0.5 < seconds / wrong < 2, medians


def test_hashing_runs_off_the_event_loop() -> None:
    async def main() -> tuple[float, int, bool]:
        hasher = PasswordHasher(rounds=12)
        gaps: list[float] = []
        done = asyncio.Event()

        async def tick() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.02)
        hashed = await hasher.hash(GOOD)
        ok = await hasher.verify(GOOD, hashed)
        done.set()
        await ticker
        return max(gaps), len(gaps), ok

    max_gap, ticks, ok = asyncio.run(main())
    assert ok
    # a 12-round hash and verify take ~0.5 s; on the loop they would stall it that long (and
    # leave a handful of ticks instead of ~100)
    assert ticks > 20, ticks
    assert max_gap < 0.2, max_gap


def test_hashes_past_the_waiting_cap_are_refused_at_once(monkeypatch) -> None:
    """Past MAX_PENDING_HASHES waiting or running, a check is a 429 at once, not a place in a
    line that would outlast any client."""
    import asyncio

    from workscript_jupyter.auth import passwords
    from workscript_jupyter.errors import TooManyRequestsError

    monkeypatch.setattr(passwords, "MAX_PENDING_HASHES", 2)
    hasher = passwords.PasswordHasher(10)

    async def main() -> list[object]:
        return await asyncio.gather(
            *(hasher.verify("Correct-Horse-9", None) for _ in range(5)), return_exceptions=True
        )

    results = asyncio.run(main())
    refused = [r for r in results if isinstance(r, TooManyRequestsError)]
    assert len(refused) == 3 and all(r is False for r in results if r not in refused)
    assert refused[0].retry_after > 0
