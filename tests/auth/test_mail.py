"""auth/mail.py against a real SMTP server (aiosmtpd) on 127.0.0.1: plain, STARTTLS, SSL, AUTH,
refusals, retries, timeouts, header injection, and the console backend."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.ci import require
from workscript_jupyter.auth.mail import (
    MAIL_FAILED_MESSAGE,
    ConsoleMailer,
    MailMessage,
    MailSettings,
    SmtpMailer,
    mailer_for,
)
from workscript_jupyter.errors import BadRequestError, ConfigurationError, MailUnavailableError

HOST = "127.0.0.1"
USER = "mailer-user"
PASSWORD = "s3cret-Smtp-Pa55word"
SENDER = "Workscript <noreply@workscript.test>"
MESSAGE = MailMessage(
    to="alice@example.org",
    subject="Reset your password",
    text="Open https://example.org/reset?token=abc123 within 30 minutes.\n",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Recorder:
    """An aiosmtpd handler that keeps what arrives and can answer DATA with chosen refusals."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []
        self.data_calls = 0
        self.refusals: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.refusals:
            return self.refusals.pop(0)
        self.envelopes.append(envelope)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(parsed)
        return "250 OK"


class Authenticator:
    """Checks USER/PASSWORD; ``connections`` counts the connections that tried to log in
    (smtplib tries each mechanism the server offers, PLAIN then LOGIN, on one connection)."""

    def __init__(self) -> None:
        self.peers: set[Any] = set()

    @property
    def connections(self) -> int:
        return len(self.peers)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        self.peers.add(session.peer)
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


def start(handler: Recorder, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    controller, port = start(handler)
    yield handler, port
    controller.stop()


@pytest.fixture
def mail_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="workscript_jupyter.auth.mail")
    return caplog


def settings(port: int, **overrides: Any) -> MailSettings:
    values: dict[str, Any] = dict(
        backend="smtp", host=HOST, port=port, secure="none", sender=SENDER, timeout=2.0
    )
    values.update(overrides)
    return MailSettings(**values)


def send(mailer: Any, message: MailMessage = MESSAGE) -> None:
    asyncio.run(mailer.send(message))


# -- delivery ------------------------------------------------------------------------------------


def test_the_message_arrives_with_from_to_subject_and_body(server: tuple[Recorder, int]) -> None:
    handler, port = server
    send(SmtpMailer(settings(port)))
    assert len(handler.received) == 1
    got = handler.received[0]
    assert got["From"] == SENDER
    assert got["To"] == MESSAGE.to
    assert got["Subject"] == MESSAGE.subject
    assert got["Message-ID"] and got["Message-ID"].endswith("@workscript.test>")
    assert got.get_content().replace("\r\n", "\n") == MESSAGE.text
    assert handler.envelopes[0].rcpt_tos == [MESSAGE.to]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_auth_login_works_and_a_wrong_password_is_refused_once_without_leaking() -> None:
    handler, auth = Recorder(), Authenticator()
    controller, port = start(
        handler, authenticator=auth, auth_required=True, auth_require_tls=False
    )
    try:
        send(SmtpMailer(settings(port, user=USER, password=PASSWORD)))
        assert len(handler.received) == 1

        auth.peers.clear()
        wrong = "not-the-Password-9"
        with pytest.raises(MailUnavailableError) as caught:
            send(SmtpMailer(settings(port, user=USER, password=wrong), backoff=0.01))
        assert auth.connections == 1  # 535 is permanent: not retried
        assert wrong not in str(caught.value) and USER not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    finally:
        controller.stop()


def test_smtp_down_fails_after_the_retries_quickly_and_names_no_secret(
    mail_log: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nothing listens there
    mailer = SmtpMailer(settings(port, user=USER, password=PASSWORD, retries=2), backoff=0.05)
    started = time.monotonic()
    with pytest.raises(MailUnavailableError) as caught:
        send(mailer)
    assert time.monotonic() - started < 2.0
    assert str(caught.value) == MAIL_FAILED_MESSAGE
    attempts = [r for r in mail_log.records if r.name == "workscript_jupyter.auth.mail"]
    assert len(attempts) == 3  # the first try and 2 retries
    assert "ConnectionRefusedError" in attempts[0].getMessage()
    for text in [str(caught.value), repr(mailer), mail_log.text]:
        for secret in (HOST, str(port), USER, PASSWORD):
            assert secret not in text
    assert PASSWORD not in repr(mailer.settings)


def test_a_server_that_never_answers_times_out_and_is_retried(
    mail_log: pytest.LogCaptureFixture,
) -> None:
    silent = socket.socket()
    silent.bind((HOST, 0))
    silent.listen(8)  # accepts connections, never sends a greeting
    port = silent.getsockname()[1]
    mailer = SmtpMailer(settings(port, timeout=0.3, retries=1), backoff=0.01)
    started = time.monotonic()
    try:
        with pytest.raises(MailUnavailableError):
            send(mailer)
    finally:
        silent.close()
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 2.0
    records = [r for r in mail_log.records if r.name == "workscript_jupyter.auth.mail"]
    assert len(records) == 2
    assert "timed out" in records[0].getMessage()


def test_a_temporary_4xx_is_retried_and_then_delivered(
    server: tuple[Recorder, int], mail_log: pytest.LogCaptureFixture
) -> None:
    handler, port = server
    handler.refusals = ["451 4.3.0 Try again later"]
    send(SmtpMailer(settings(port), backoff=0.01))
    assert handler.data_calls == 2
    assert len(handler.received) == 1
    assert "(SMTP 451)" in mail_log.records[0].getMessage()


def test_a_550_refusal_is_not_retried(
    server: tuple[Recorder, int], mail_log: pytest.LogCaptureFixture
) -> None:
    handler, port = server
    handler.refusals = ["550 5.7.1 Message rejected", "550 5.7.1 Message rejected"]
    with pytest.raises(MailUnavailableError):
        send(SmtpMailer(settings(port, retries=3), backoff=0.01))
    assert handler.data_calls == 1
    assert handler.received == []
    assert "(SMTP 550)" in mail_log.records[0].getMessage()
    assert "giving up" in mail_log.records[0].getMessage()


@pytest.mark.parametrize(
    "message",
    [
        MailMessage(to="alice@example.org\r\nBcc: mallory@example.org", subject="s", text="t"),
        MailMessage(to="alice@example.org\nBcc: mallory@example.org", subject="s", text="t"),
        MailMessage(to="alice@example.org", subject="Hi\r\nBcc: mallory@example.org", text="t"),
        MailMessage(to="alice@example.org", subject="Hi\rX-Evil: 1", text="t"),
    ],
)
def test_a_line_break_in_to_or_subject_is_refused_and_nothing_is_sent(
    server: tuple[Recorder, int], message: MailMessage
) -> None:
    handler, port = server
    with pytest.raises(BadRequestError, match="one line"):
        send(SmtpMailer(settings(port)), message)
    with pytest.raises(BadRequestError, match="one line"):
        send(ConsoleMailer(logging.getLogger("test.console")), message)
    assert handler.data_calls == 0


def test_starttls_that_the_server_does_not_offer_fails_without_retrying(
    server: tuple[Recorder, int], mail_log: pytest.LogCaptureFixture
) -> None:
    handler, port = server
    with pytest.raises(MailUnavailableError):
        send(SmtpMailer(settings(port, secure="starttls", retries=3), backoff=0.01))
    assert len(mail_log.records) == 1
    assert "SMTPNotSupportedError" in mail_log.records[0].getMessage()
    assert handler.data_calls == 0


# -- TLS: a certificate of our own for 127.0.0.1, trusted through SSL_CERT_FILE -------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    require(shutil.which("openssl") is not None, "the openssl command is not installed")
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=IP:{HOST}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_starttls_with_login_delivers_when_the_certificate_is_trusted(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    handler, auth = Recorder(), Authenticator()
    controller, port = start(
        handler,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
    )  # auth_require_tls stays on: the login only works after STARTTLS
    try:
        send(SmtpMailer(settings(port, secure="starttls", user=USER, password=PASSWORD)))
    finally:
        controller.stop()
    assert len(handler.received) == 1 and auth.connections == 1


def test_starttls_with_an_untrusted_certificate_is_refused_without_retrying(
    certificate: tuple[Path, Path], mail_log: pytest.LogCaptureFixture
) -> None:
    handler = Recorder()
    controller, port = start(handler, tls_context=server_context(certificate))
    try:
        with pytest.raises(MailUnavailableError):
            send(SmtpMailer(settings(port, secure="starttls", retries=2), backoff=0.01))
    finally:
        controller.stop()
    records = [r for r in mail_log.records if r.name == "workscript_jupyter.auth.mail"]
    assert len(records) == 1
    assert "SSLCertVerificationError" in records[0].getMessage()
    assert handler.data_calls == 0


def test_implicit_ssl_delivers(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    handler = Recorder()
    controller, port = start(handler, ssl_context=server_context(certificate))
    try:
        send(SmtpMailer(settings(port, secure="ssl")))
    finally:
        controller.stop()
    assert len(handler.received) == 1


# -- the console backend, mailer_for, settings ----------------------------------------------------


def test_the_console_backend_logs_the_whole_message_at_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("workscript_jupyter.test.console")
    with caplog.at_level(logging.WARNING, log.name):
        send(ConsoleMailer(log))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert MESSAGE.to in text and MESSAGE.subject in text
    assert "https://example.org/reset?token=abc123" in text


def test_mailer_for_each_backend() -> None:
    log = logging.getLogger("test")
    assert mailer_for(MailSettings(), log) is None
    assert isinstance(mailer_for(MailSettings(backend="console"), log), ConsoleMailer)
    assert isinstance(mailer_for(settings(25), log), SmtpMailer)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"backend": "smtp", "sender": SENDER}, ["SMTP_HOST", "c.WorkscriptApp.smtp_host"]),
        ({"backend": "smtp", "host": HOST}, ["EMAIL_FROM", "c.WorkscriptApp.email_from"]),
        ({"backend": "console", "user": USER}, ["SMTP_USER", "SMTP_PASS"]),
        ({"backend": "console", "password": PASSWORD}, ["SMTP_PASS", "SMTP_USER"]),
        ({"backend": "carrier-pigeon"}, ["email backend"]),
        ({"backend": "smtp", "host": HOST, "sender": SENDER, "secure": "tls"}, ["SMTP_SECURE"]),
        ({"backend": "smtp", "host": HOST, "sender": SENDER, "port": 0}, ["SMTP_PORT"]),
        ({"backend": "smtp", "host": HOST, "sender": "a@b\r\nBcc: c@d"}, ["EMAIL_FROM"]),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(
    kwargs: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        MailSettings(**kwargs)
    for name in names:
        assert name in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_the_password_is_not_in_the_settings_repr() -> None:
    text = repr(settings(25, user=USER, password=PASSWORD))
    assert PASSWORD not in text and USER in text
