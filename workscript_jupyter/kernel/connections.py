"""``%workscript connect google`` and ``%workscript connections``: Google accounts from a notebook.

Connecting needs a browser (Google's consent page), so the magic asks the notebook's server to
start a consent (``POST /workscript/integrations/google/connect``) and shows its page as a link
that opens a new tab; the server's callback finishes the connection there, and
``%workscript connections`` then lists it. Connections never carry a token, and nothing here
prints one: the table shows the account, its status and the scopes by their short names.

The functions raise ``ServerError`` for the server's refusals (the magic turns them into a
usage error with the server's message, e.g. "Google is not configured on this server: its
admin sets GOOGLE_CLIENT_ID ...") and ``UsageError`` for a bad command line.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from IPython.core.error import UsageError

from .server_client import ServerClient, parse_time

__all__ = ["CONNECT_USAGE", "DEFAULT_SCOPES", "connect_html", "connections_html"]

# the Lab panel's default too: read and send mail, the calendar, the files it makes
DEFAULT_SCOPES = ("gmail.readonly", "gmail.send", "calendar", "drive.file")
# asked for on every connection (who the account is): not worth a column entry
_IDENTITY = frozenset({"openid", "email", "profile"})
CONNECT_USAGE = (
    "usage: %workscript connect google [SCOPE ...]  (short names: gmail.readonly gmail.send "
    "gmail.compose gmail.modify calendar.readonly calendar drive drive.file; default: "
    + " ".join(DEFAULT_SCOPES)
    + ")"
)
_STATUS_WORDS = {"active": "active", "needs_consent": "needs re-consent", "error": "error"}


def _scopes_of(words: Sequence[str]) -> list[str]:
    """``connect google a b,c`` → ``[a, b, c]`` (commas or spaces), defaults when none."""
    if not words or words[0] != "google":
        provider = repr(words[0]) if words else "none"
        raise UsageError(f"%workscript connect: provider {provider}: only google\n{CONNECT_USAGE}")
    scopes = [s for word in words[1:] for s in word.split(",") if s.strip()]
    return [s.strip() for s in scopes] or list(DEFAULT_SCOPES)


def connect_html(client: ServerClient, words: Sequence[str]) -> str:
    """Start a consent for ``connect google [SCOPE ...]``: a link to Google's page."""
    scopes = _scopes_of(words)
    start = client.request("POST", "integrations/google/connect", json={"scopes": scopes})
    url = str(start.get("url", ""))
    asked = ", ".join(f"<code>{escape(s)}</code>" for s in scopes)
    return (
        "<div class='workscript-connect'>"
        f"<a href='{escape(url, quote=True)}' target='_blank' rel='noopener noreferrer' "
        "style='display:inline-block;padding:6px 14px;border-radius:4px;background:#1a73e8;"
        "color:#fff;text-decoration:none;font-weight:600'>Connect Google account</a>"
        f"<p>Opens Google's consent page in a new tab, asking for {asked}. Once Google says "
        "you are connected, come back here and run <code>%workscript connections</code> to "
        "see the connection. The link works once, for "
        f"{_minutes_left(start)}.</p></div>"
    )


def _minutes_left(start: Mapping[str, Any]) -> str:
    """How long the consent link stays valid, in words (the server's state lifetime)."""
    expires = parse_time(start.get("expiresAt"))
    if expires is None:
        return "a few minutes"
    minutes = max(1, round((expires - time.time()) / 60))
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


def connections_html(client: ServerClient) -> str:
    """The caller's Google connections as a table (no tokens), or why there are none."""
    listing = client.request("GET", "integrations")
    items = list(listing.get("items") or [])
    if not listing.get("configured") and not items:
        return (
            "<p>Google is not configured on this server: its administrator sets "
            "<code>GOOGLE_CLIENT_ID</code> and <code>GOOGLE_CLIENT_SECRET</code> (the OAuth "
            "client of a Google Cloud project) and restarts it.</p>"
        )
    if not items:
        return (
            "<p>No Google account connected yet: run <code>%workscript connect google</code>.</p>"
        )
    names = {url: name for name, url in dict(listing.get("scopes") or {}).items()}
    rows = "".join(_row(item, names) for item in items)
    return (
        "<table><tr><th>name</th><th>account</th><th>status</th><th>scopes</th>"
        f"<th>last used</th><th>id</th></tr>{rows}</table>"
    )


def _row(item: Mapping[str, Any], names: Mapping[str, str]) -> str:
    status = str(item.get("status", ""))
    words = _STATUS_WORDS.get(status, status)
    if status != "active" and item.get("lastError"):
        words += f": {item['lastError']}"
    colour = "#1e7d32" if status == "active" else "#b3261e"
    scopes = [names.get(s, str(s).rsplit("/", 1)[-1]) for s in item.get("scopes") or ()]
    shown = [s for s in scopes if s not in _IDENTITY and not s.startswith("userinfo.")]
    account = item.get("email") or item.get("accountName") or ""
    return (
        f"<tr><td>{escape(str(item.get('name', '')))}</td><td>{escape(str(account))}</td>"
        f"<td style='color:{colour}'>{escape(words)}</td>"
        f"<td>{escape(' '.join(shown))}</td>"
        f"<td>{escape(str(item.get('lastUsedAt') or '—'))}</td>"
        f"<td><code>{escape(str(item.get('id', '')))}</code></td></tr>"
    )
