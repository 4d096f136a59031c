"""google-api-python-client, built offline and called from worker threads.

- ``build_service(api, version, access_token, settings)``: the client's resource from the
  static discovery document shipped with the library (no request at build time), authorized
  with the access token only: refreshing is the connection service's job (it is serialized
  across runs and servers), so the HTTP layer never refreshes on its own
  (``max_refresh_attempts=0``) and a 401 comes back to us.
- How a node's operation runs its requests (the retry of quota errors with backoff) and how a
  failure becomes a ``GoogleError`` is the nodes' side: nodes/google_requests.py.
- ``in_google_thread(fn, ...)``: the calls block (httplib2), so they run in a pool of their
  own, never on the event loop and never starving the default executor.

``GoogleApiSettings.root_url`` replaces the documents' ``https://<api>.googleapis.com/``
(requests and media uploads alike): a proxy's address, or a stand-in's in the tests.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from ..errors import ConfigurationError, GoogleError

__all__ = ["GoogleApiSettings", "build_service", "in_google_thread"]

_T = TypeVar("_T")
THREADS: Final = 16


@dataclass(frozen=True, slots=True)
class GoogleApiSettings:
    """``quota_retries``: how many times a quota error or a 5xx is retried (backoff: up to
    ``backoff_seconds`` * 2^n, randomised, before the n-th retry); ``timeout``: seconds per
    HTTP request."""

    root_url: str | None = None
    timeout: float = 60.0
    quota_retries: int = 4
    backoff_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.root_url is not None and not self.root_url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"the Google API root must be an http(s) URL, not {self.root_url!r}"
            )
        if not 0 <= self.quota_retries <= 10:
            raise ConfigurationError("google quota_retries must be from 0 to 10")


@functools.lru_cache(maxsize=32)
def _document(api: str, version: str, root_url: str | None) -> str:
    from googleapiclient.discovery_cache import get_static_doc

    text = get_static_doc(api, version)
    if not text:
        raise GoogleError(
            f"google-api-python-client has no discovery document for {api} {version}",
            code="GOOGLE_ERROR",
        )
    if root_url is None:
        return str(text)
    document = json.loads(text)
    document["rootUrl"] = root_url.rstrip("/") + "/"
    return json.dumps(document)


def build_service(api: str, version: str, access_token: str, settings: GoogleApiSettings) -> Any:
    """Blocking (parses the document): the client's resource for ``api`` ``version``."""
    import google_auth_httplib2
    import httplib2
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build_from_document

    transport = httplib2.Http(timeout=settings.timeout)
    # a resumable upload's chunks are answered 308 "Resume Incomplete", not a redirect
    # (what googleapiclient.http.build_http does to the Http it makes)
    transport.redirect_codes = transport.redirect_codes - {308}
    http = google_auth_httplib2.AuthorizedHttp(
        Credentials(token=access_token),  # type: ignore[no-untyped-call]
        http=transport,
        max_refresh_attempts=0,
    )
    return build_from_document(_document(api, version, settings.root_url), http=http)


async def in_google_thread(settings: GoogleApiSettings, fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` in the Google pool, in a copy of the caller's context (its context
    variables: the run's request policy, nodes/google_requests.py). ``settings`` is the
    caller's, for ``build_service``."""
    del settings  # one pool for every caller; kept so that a call says whose settings apply
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(context.run, fn, *args))


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="workscript-google")
