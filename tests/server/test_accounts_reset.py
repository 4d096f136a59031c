"""Password reset by email, through a real server and a real SMTP server (aiosmtpd) on 127.0.0.1.

- The mail arrives; its link opens the reset page, and its token works once: afterwards the new
  password logs in, the old one does not, and every session and refresh token of the user has
  ended. A second use of the token is a 400, and so is a token past its expiry (aged in the
  database).
- An email without an account gets the same 202 and body, and no mail is sent.
- With no email configured, the request is a 503 that says what to set; with the SMTP server
  down, a 503 that names neither host nor port nor login, alike for known and unknown emails.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tests.scheduler.servers import free_port

from .conftest import Api, server_config

SECRETS: dict[str, Any] = {
    "jwt_secret": "g" * 40,
    "jwt_refresh_secret": "h" * 40,
    "session_secret": "i" * 40,
    "bcrypt_rounds": 4,
}
PASSWORD = "Before-Reset-1"
NEW_PASSWORD = "After-Reset-2"
SENDER = "workscript@example.org"
SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-secret-Zq81"  # the test's own, checked never to show
LINK = re.compile(r"(https?://\S+/workscript/password-reset\?token=([0-9a-f]+))")


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def public(jp_fetch: Any) -> Api:
    # every answer is held to the OpenAPI document (Api checks it)
    return Api(jp_fetch, {"Authorization": ""})


async def make_user(api: Api, address: str) -> None:
    made = await api.post("users", json_body={"email": address, "password": PASSWORD})
    assert made.code == 201, made.raw


async def login(jp_fetch: Any, address: str, password: str) -> Any:
    body = {"email": address, "password": password}
    return await public(jp_fetch).post("auth", "login", json_body=body)


async def ask_reset(jp_fetch: Any, address: str) -> Any:
    return await public(jp_fetch).post("password-reset", "request", json_body={"email": address})


class TestResetByMail:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str, inbox: tuple[Inbox, int]) -> Any:
        return server_config(
            workscript_db_url,
            **SECRETS,
            smtp_host="127.0.0.1",
            smtp_port=inbox[1],
            smtp_secure="none",
            email_from=SENDER,
        )

    async def mailed_token(self, jp_fetch: Any, mailbox: Inbox, address: str) -> tuple[str, str]:
        before = len(mailbox.messages)
        asked = await ask_reset(jp_fetch, address)
        assert asked.code == 202, asked.raw
        assert len(mailbox.messages) == before + 1  # sent before the answer
        message = mailbox.messages[-1]
        assert message["To"] == address and message["From"] == SENDER
        found = LINK.search(message.get_content())
        assert found is not None, message.get_content()
        return found.group(1), found.group(2)

    async def test_the_link_works_once_and_ends_every_login(
        self, api: Api, jp_fetch: Any, jp_serverapp: Any, inbox: tuple[Inbox, int]
    ) -> None:
        mailbox, _ = inbox
        await make_user(api, "rae@example.org")
        logins = [(await login(jp_fetch, "rae@example.org", PASSWORD)).body for _ in range(2)]
        link, token = await self.mailed_token(jp_fetch, mailbox, "rae@example.org")
        assert len(token) == 64  # 256 bits
        assert link.startswith(jp_serverapp.connection_url), link
        relative = link.removeprefix(jp_serverapp.connection_url).split("?", 1)[0]
        page = await jp_fetch(
            *relative.split("/"),
            params={"token": token},
            headers={"Authorization": ""},
            raise_error=False,
        )
        assert page.code == 200, page.code  # the link opens the reset page, no login needed
        # a page, not JSON (Jupyter's APIHandler.finish sets JSON unless told otherwise)
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"

        client = public(jp_fetch)
        valid = await client.post("password-reset", "validate", json_body={"token": token})
        assert valid.code == 200 and valid.body == {"valid": True}
        body = {"token": token, "password": NEW_PASSWORD}
        done = await client.post("password-reset", "complete", json_body=body)
        assert done.code == 200, done.raw

        assert (await login(jp_fetch, "rae@example.org", PASSWORD)).code == 401
        assert (await login(jp_fetch, "rae@example.org", NEW_PASSWORD)).code == 200
        for tokens in logins:
            me = await client.as_user({"Authorization": f"Bearer {tokens['accessToken']}"}).get(
                "auth", "me"
            )
            assert me.code == 401, me.raw
            refresh = await client.post(
                "auth", "refresh", json_body={"refreshToken": tokens["refreshToken"]}
            )
            assert refresh.code == 401, refresh.raw

        again = await client.post("password-reset", "complete", json_body=body)
        assert again.code == 400 and again.error["details"]["field"] == "token"
        assert (await client.post("password-reset", "validate", json_body=body)).code == 400
        assert (await login(jp_fetch, "rae@example.org", NEW_PASSWORD)).code == 200

    async def test_an_expired_token_is_refused(
        self, api: Api, jp_fetch: Any, workscript: Any, inbox: tuple[Inbox, int]
    ) -> None:
        await make_user(api, "sam@example.org")
        _, token = await self.mailed_token(jp_fetch, inbox[0], "sam@example.org")
        digest = hashlib.sha256(token.encode()).hexdigest()
        engine = workscript["engine"]
        with engine.begin() as connection:  # aged in the store itself
            aged = connection.execute(
                sa.text("UPDATE password_resets SET expires_at = :past WHERE token_hash = :hash"),
                {"past": datetime.now(UTC) - timedelta(minutes=1), "hash": digest},
            )
            assert aged.rowcount == 1
        client = public(jp_fetch)
        body = {"token": token, "password": NEW_PASSWORD}
        assert (await client.post("password-reset", "validate", json_body=body)).code == 400
        refused = await client.post("password-reset", "complete", json_body=body)
        assert refused.code == 400 and "expired" in refused.error["message"]
        assert (await login(jp_fetch, "sam@example.org", PASSWORD)).code == 200

    async def test_an_unknown_email_gets_the_same_answer_and_no_mail(
        self, api: Api, jp_fetch: Any, inbox: tuple[Inbox, int]
    ) -> None:
        mailbox, _ = inbox
        await make_user(api, "tom@example.org")
        known = await ask_reset(jp_fetch, "tom@example.org")
        assert len(mailbox.messages) == 1
        unknown = await ask_reset(jp_fetch, "nobody@example.org")
        assert (unknown.code, unknown.raw) == (known.code, known.raw) == (202, known.raw)
        assert len(mailbox.messages) == 1


class TestNoEmailConfigured:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
        for name in ("SMTP_HOST", "EMAIL_FROM", "SMTP_USER", "SMTP_PASS"):
            monkeypatch.delenv(name, raising=False)
        return server_config(workscript_db_url, **SECRETS)

    async def test_a_request_is_a_503_saying_what_to_set(self, api: Api, jp_fetch: Any) -> None:
        await make_user(api, "uma@example.org")
        for address in ("uma@example.org", "nobody@example.org"):
            refused = await ask_reset(jp_fetch, address)
            assert refused.code == 503, refused.raw
            message = refused.error["message"]
            assert "SMTP_HOST" in message and "EMAIL_FROM" in message, message


class TestSmtpDown:
    @pytest.fixture
    def closed_port(self) -> int:
        return free_port()  # nothing listens there

    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str, closed_port: int) -> Any:
        return server_config(
            workscript_db_url,
            **SECRETS,
            smtp_host="127.0.0.1",
            smtp_port=closed_port,
            smtp_secure="none",
            smtp_user=SMTP_USER,
            smtp_password=SMTP_PASSWORD,
            email_from=SENDER,
        )

    async def test_a_request_fails_clearly_naming_no_host_or_login(
        self, api: Api, jp_fetch: Any, closed_port: int, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await make_user(api, "val@example.org")
        port = str(closed_port)
        answers = []
        for address in ("val@example.org", "nobody@example.org"):
            refused = await ask_reset(jp_fetch, address)
            assert refused.code == 503, refused.raw
            answers.append(refused.raw)
            text = refused.raw.decode()
            for word in ("127.0.0.1", "localhost", port, SMTP_USER, SMTP_PASSWORD, SENDER):
                assert word not in text, (word, text)
            assert "email could not be sent" in refused.error["message"]
        assert answers[0] == answers[1]  # known and unknown alike
        assert SMTP_PASSWORD not in caplog.text
