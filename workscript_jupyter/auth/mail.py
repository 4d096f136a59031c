"""Outgoing email for the auth layer: password-reset links, over SMTP or (on request) the log.

A password reset is only as trustworthy as the mail that carries its link, so this module makes
the failure modes explicit instead of pretending to succeed:

- ``backend="smtp"`` sends through a real SMTP server (``SMTP_HOST``, ``SMTP_PORT``,
  ``SMTP_SECURE`` = STARTTLS or SSL, ``SMTP_USER``/``SMTP_PASS``, ``EMAIL_FROM``). smtplib is
  blocking, so each attempt runs in a thread (``asyncio.to_thread``: not the store's small pool,
  which a slow mail server must not starve), with a socket timeout. Temporary failures (refused
  connection, timeout, a 4xx answer) are retried with a short backoff; permanent refusals (5xx)
  are not. What finally reaches the caller is a ``MailUnavailableError`` whose message names
  neither the host nor the user nor the password; the log gets the exception class and the SMTP
  code, enough to diagnose, never a credential.
- ``backend="console"`` writes the whole message, link included, to the server log. It exists for
  development and is only used when chosen explicitly.
- ``backend="none"`` (the default) has no mailer at all: ``mailer_for`` returns None and the
  caller answers 503 "no email configured" rather than a silent success.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal, Protocol, runtime_checkable

from ..errors import BadRequestError, ConfigurationError, MailUnavailableError

__all__ = [
    "MAIL_FAILED_MESSAGE",
    "ConsoleMailer",
    "MailMessage",
    "MailSettings",
    "Mailer",
    "SmtpMailer",
    "mailer_for",
]

log = logging.getLogger("workscript_jupyter.auth.mail")

MAIL_FAILED_MESSAGE = (
    "the email could not be sent: the mail server did not accept it; try again later"
)

_BACKENDS = ("smtp", "console", "none")
_SECURE = ("starttls", "ssl", "none")


def _has_line_break(value: str) -> bool:
    # any of these would let a value end its header and start another (header injection)
    return any(ch in value for ch in "\r\n\x00")


@dataclass(frozen=True)
class MailSettings:
    """How email leaves the server. The password never appears in the repr."""

    backend: Literal["smtp", "console", "none"] = "none"
    host: str | None = None
    port: int = 587
    secure: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    timeout: float = 10.0
    retries: int = 2

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise ConfigurationError(
                f"unknown email backend {self.backend!r}: choose one of {', '.join(_BACKENDS)} "
                "(c.WorkscriptApp.email_backend)"
            )
        if self.secure not in _SECURE:
            raise ConfigurationError(
                f"SMTP_SECURE must be one of {', '.join(_SECURE)}, not {self.secure!r} "
                "(c.WorkscriptApp.smtp_secure)"
            )
        if not 0 < self.port < 65536:
            raise ConfigurationError(
                f"SMTP_PORT must be between 1 and 65535, not {self.port} "
                "(c.WorkscriptApp.smtp_port)"
            )
        if not self.timeout > 0:
            raise ConfigurationError(f"the SMTP timeout must be positive, not {self.timeout}")
        if self.retries < 0:
            raise ConfigurationError(f"the SMTP retries must be 0 or more, not {self.retries}")
        if bool(self.user) != bool(self.password):
            given, missing = ("SMTP_USER", "SMTP_PASS") if self.user else ("SMTP_PASS", "SMTP_USER")
            raise ConfigurationError(
                f"{given} is set but {missing} is not: SMTP login needs both "
                "(c.WorkscriptApp.smtp_user and c.WorkscriptApp.smtp_password)"
            )
        if self.sender is not None and _has_line_break(self.sender):
            raise ConfigurationError("EMAIL_FROM must be one line (c.WorkscriptApp.email_from)")
        if self.backend == "smtp":
            if not self.host:
                raise ConfigurationError(
                    "the smtp email backend needs a server: set SMTP_HOST "
                    "(c.WorkscriptApp.smtp_host)"
                )
            if not self.sender:
                raise ConfigurationError(
                    "the smtp email backend needs a sender address: set EMAIL_FROM "
                    "(c.WorkscriptApp.email_from)"
                )


@dataclass(frozen=True)
class MailMessage:
    """One plain-text email to one recipient."""

    to: str
    subject: str
    text: str


@runtime_checkable
class Mailer(Protocol):
    """Something that delivers a ``MailMessage`` or raises ``MailUnavailableError``."""

    async def send(self, message: MailMessage) -> None: ...

    async def check(self) -> None:
        """Reach the mail server as a send would, without sending (``MailUnavailableError``
        when it is down): a reset for an unknown email fails exactly like one for a real
        account, so a failure tells nobody which emails have accounts."""


def _check_headers(message: MailMessage) -> None:
    if _has_line_break(message.to):
        raise BadRequestError("the recipient address must be one line (no CR or LF)")
    if _has_line_break(message.subject):
        raise BadRequestError("the email subject must be one line (no CR or LF)")
    if "@" not in message.to or not message.to.strip():
        raise BadRequestError("the recipient is not an email address")


def _build(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2].strip("<> ") or None
    email["Message-ID"] = make_msgid(domain=domain)
    email.set_content(message.text)
    return email


@dataclass(frozen=True)
class _Failure:
    """Why one attempt failed, in terms safe to log: a class name and an SMTP code."""

    kind: str
    code: int | None
    temporary: bool


def _classify(exc: smtplib.SMTPException | OSError) -> _Failure:
    kind = type(exc).__name__
    # the SMTP exceptions derive from OSError: look at them before the socket errors
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        code = codes[0] if codes else None
        return _Failure(kind, code, bool(codes) and all(400 <= c < 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code if isinstance(exc.smtp_code, int) else None
        # SMTPConnectError uses -1 when the greeting never came: a network failure, temporary
        return _Failure(kind, code, code is None or code < 0 or 400 <= code < 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a socket timeout while reading a reply into a disconnection
        if isinstance(exc.__context__, TimeoutError):
            kind += " (timed out)"
        return _Failure(kind, None, True)
    if isinstance(exc, smtplib.SMTPException):
        return _Failure(kind, None, False)  # STARTTLS or AUTH not offered: a configuration fault
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return _Failure(kind, None, False)  # a certificate that will not verify next time either
    if isinstance(exc, socket.gaierror):
        return _Failure(kind, None, True)  # DNS may come back
    return _Failure(kind, None, True)  # OSError: refused, reset, timed out, unreachable


class SmtpMailer:
    """Sends over SMTP with a timeout and retries; see the module docstring.

    ``backoff`` is the first pause between attempts (then doubled: 0.5 s, 1 s, 2 s...).
    """

    def __init__(self, settings: MailSettings, *, backoff: float = 0.5) -> None:
        if settings.backend != "smtp" or not settings.host or not settings.sender:
            raise ConfigurationError("SmtpMailer needs MailSettings with backend='smtp'")
        self.settings = settings
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"SmtpMailer(secure={self.settings.secure!r})"

    async def send(self, message: MailMessage) -> None:
        _check_headers(message)
        assert self.settings.sender is not None  # checked in __init__
        await self._attempts(self._deliver, _build(message, self.settings.sender))

    async def check(self) -> None:
        await self._attempts(self._deliver, None)

    async def _attempts(self, deliver: Any, email: EmailMessage | None) -> None:
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                await asyncio.to_thread(deliver, email)
                return
            except (smtplib.SMTPException, OSError) as exc:  # OSError: socket, TLS, timeout
                failure = _classify(exc)
            last = attempt == attempts or not failure.temporary
            log.warning(
                "email not sent (attempt %d of %d): %s%s; %s",
                attempt,
                attempts,
                failure.kind,
                f" (SMTP {failure.code})" if failure.code is not None else "",
                "giving up" if last else "retrying",
            )
            if last:
                # from None: smtplib's exceptions carry the server's reply text, not ours to show
                raise MailUnavailableError(MAIL_FAILED_MESSAGE) from None
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))

    def _deliver(self, email: EmailMessage | None) -> None:
        """One attempt, in a worker thread: connect, secure, log in, send (or, without an
        ``email``, a NOOP), quit."""
        s = self.settings
        assert s.host is not None
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if s.secure == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.secure == "starttls":
                client.starttls(context=context)
            if s.user and s.password:
                client.login(s.user, s.password)
            if email is None:
                code, _ = client.noop()
                if code != 250:
                    raise smtplib.SMTPResponseException(code, b"NOOP refused")
            else:
                client.send_message(email)
        except BaseException:
            client.close()
            raise
        # sent: a failing QUIT must not make the caller retry and send the mail twice
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


class ConsoleMailer:
    """Writes each message, body included, to the log at WARNING instead of sending it.

    This is the explicit development choice (``backend="console"``): a password-reset link then
    appears in the server log, readable by whoever reads the log. Never a fallback: with no
    email configured the caller gets no mailer at all.
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log

    async def check(self) -> None:
        return None  # nothing to reach

    async def send(self, message: MailMessage) -> None:
        _check_headers(message)
        self._log.warning(
            "email (console backend, not sent)\nTo: %s\nSubject: %s\n\n%s",
            message.to,
            message.subject,
            message.text,
        )


def mailer_for(settings: MailSettings, log: logging.Logger) -> Mailer | None:
    """The mailer the settings ask for; None for ``backend="none"`` (the caller answers 503)."""
    if settings.backend == "smtp":
        return SmtpMailer(settings)
    if settings.backend == "console":
        return ConsoleMailer(log)
    return None
