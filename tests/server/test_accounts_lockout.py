"""Lockout and throttling of logins through a real server.

- ``max_login_attempts`` (5) failures lock the account: the 6th login, even with the right
  password, is a 429 with ``Retry-After`` and the time left in the message; once the
  (shortened) ``lockout_duration`` has passed, the right password works again. A success
  resets the count. An email without an account locks the same way.
- No user enumeration: an unknown email and a wrong password get the same status and body,
  and take the same time (median of 20 interleaved tries each within 20 %, with
  ``bcrypt_rounds=10`` so that the hash dominates the request).
- Per address: ``auth_ip_limit=5`` makes the 6th login request from 127.0.0.1 a 429, and the
  budget is shared with password-reset requests.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from typing import Any

import pytest

from .conftest import Api, server_config

SECRETS: dict[str, Any] = {
    "jwt_secret": "d" * 40,
    "jwt_refresh_secret": "e" * 40,
    "session_secret": "f" * 40,
}
PASSWORD = "Lockout-Pass-42"
WRONG = "Wrong-Pass-42"


def config(db_url: str, **traits: Any) -> Any:
    return server_config(db_url, **{**SECRETS, "bcrypt_rounds": 4, **traits})


async def make_user(api: Api, email: str) -> None:
    made = await api.post("users", json_body={"email": email, "password": PASSWORD})
    assert made.code == 201, made.raw


async def login(jp_fetch: Any, email: str, password: str) -> Any:
    public = Api(jp_fetch, {"Authorization": ""})
    return await public.post("auth", "login", json_body={"email": email, "password": password})


class TestLockout:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str) -> Any:
        return config(workscript_db_url, lockout_duration=2)

    async def test_five_failures_lock_until_the_duration_has_passed(
        self, api: Api, jp_fetch: Any
    ) -> None:
        await make_user(api, "lou@example.org")
        for attempt in range(5):
            failed = await login(jp_fetch, "lou@example.org", WRONG)
            assert failed.code == 401, (attempt, failed.raw)
        locked = await login(jp_fetch, "lou@example.org", PASSWORD)
        assert locked.code == 429, locked.raw
        assert 1 <= int(locked.headers["Retry-After"]) <= 2
        message = locked.error["message"]
        assert "locked" in message and re.search(r"\d+ min \d+ s", message), message
        assert 1 <= locked.error["details"]["retryAfter"] <= 2
        # the lock holds for every password, not only a wrong one
        assert (await login(jp_fetch, "lou@example.org", WRONG)).code == 429

        await asyncio.sleep(2.2)
        unlocked = await login(jp_fetch, "lou@example.org", PASSWORD)
        assert unlocked.code == 200, unlocked.raw

    async def test_an_unknown_email_locks_the_same_way(self, api: Api, jp_fetch: Any) -> None:
        for _ in range(5):
            assert (await login(jp_fetch, "nobody@example.org", WRONG)).code == 401
        locked = await login(jp_fetch, "nobody@example.org", PASSWORD)
        assert locked.code == 429 and "locked" in locked.error["message"]


class TestASuccessResetsTheCount:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str) -> Any:
        return config(workscript_db_url, lockout_duration=900)

    async def test_failures_before_a_success_do_not_count(self, api: Api, jp_fetch: Any) -> None:
        await make_user(api, "sue@example.org")
        for _ in range(4):
            assert (await login(jp_fetch, "sue@example.org", WRONG)).code == 401
        assert (await login(jp_fetch, "sue@example.org", PASSWORD)).code == 200
        # five more failures, all answered 401: only those after the success count
        for _ in range(5):
            assert (await login(jp_fetch, "sue@example.org", WRONG)).code == 401
        assert (await login(jp_fetch, "sue@example.org", PASSWORD)).code == 429


class TestNoEnumeration:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str) -> Any:
        # no lockout in the way of 20 failures; the hash at a cost that dominates the request
        return config(workscript_db_url, bcrypt_rounds=10, max_login_attempts=1000)

    async def test_unknown_email_and_wrong_password_look_the_same(
        self, api: Api, jp_fetch: Any
    ) -> None:
        await make_user(api, "vic@example.org")
        await login(jp_fetch, "vic@example.org", WRONG)  # warm-up: both paths once
        await login(jp_fetch, "ghost@example.org", WRONG)
        unknown = await login(jp_fetch, "ghost@example.org", WRONG)
        wrong = await login(jp_fetch, "vic@example.org", WRONG)
        assert unknown.code == wrong.code == 401
        assert unknown.raw == wrong.raw, (unknown.raw, wrong.raw)

        times: dict[str, list[float]] = {"unknown": [], "wrong": []}
        for _ in range(20):  # interleaved: both see the same machine load
            for kind, email in (("unknown", "ghost@example.org"), ("wrong", "vic@example.org")):
                start = time.perf_counter()
                reply = await login(jp_fetch, email, WRONG)
                times[kind].append(time.perf_counter() - start)
                assert reply.code == 401
        unknown_median = statistics.median(times["unknown"])
        wrong_median = statistics.median(times["wrong"])
        ratio = min(unknown_median, wrong_median) / max(unknown_median, wrong_median)
        assert ratio >= 0.8, (
            f"unknown email {unknown_median * 1000:.1f} ms, wrong password "
            f"{wrong_median * 1000:.1f} ms (medians of 20)"
        )


class TestPerAddressLimit:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str) -> Any:
        return config(workscript_db_url, auth_ip_limit=5, auth_ip_window_seconds=900)

    async def test_the_sixth_request_from_one_address_is_a_429(
        self, api: Api, jp_fetch: Any
    ) -> None:
        await make_user(api, "wyn@example.org")
        for index in range(5):  # different accounts: no lockout involved
            reply = await login(jp_fetch, f"user{index}@example.org", WRONG)
            assert reply.code == 401, reply.raw
        refused = await login(jp_fetch, "wyn@example.org", PASSWORD)
        assert refused.code == 429, refused.raw
        assert int(refused.headers["Retry-After"]) > 0
        assert "from this address" in refused.error["message"]
        # the same budget covers password-reset requests
        public = Api(jp_fetch, {"Authorization": ""})
        reset = await public.post(
            "password-reset", "request", json_body={"email": "wyn@example.org"}
        )
        assert reset.code == 429, reset.raw
