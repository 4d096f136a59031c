"""The REAL Google client libraries against the stand-ins of tests/standins/google_*.py:
google-auth-oauthlib's ``Flow`` (PKCE) and google-auth's ``Credentials`` against the OAuth
stand-in, google-api-python-client (static discovery documents) against Gmail, Calendar and
Drive. Proves the stand-ins speak the protocols issue 18's code will use."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import pytest
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from tests.standins.google_apis import GoogleApisStandIn, build_service
from tests.standins.google_fixtures import google_apis_fixture, google_oauth_fixture  # noqa: F401
from tests.standins.google_oauth import GoogleOAuthStandIn

REDIRECT = "http://127.0.0.1:8888/workscript/oauth/google/callback"
SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/drive",
]


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses http:// endpoints unless told: the stand-ins are plain http on loopback."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _flow(oauth: GoogleOAuthStandIn, scopes: list[str]) -> Flow:
    return Flow.from_client_config(
        oauth.client_config(REDIRECT),
        scopes=scopes,
        redirect_uri=REDIRECT,
        autogenerate_code_verifier=True,
    )


def _approve(flow: Flow) -> str:
    """Open the authorization URL as the browser would; the redirect it answers with."""
    url, _state = flow.authorization_url(prompt="consent")
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _connect(oauth: GoogleOAuthStandIn, scopes: list[str] = SCOPES) -> Any:
    flow = _flow(oauth, scopes)
    flow.fetch_token(authorization_response=_approve(flow))
    return flow.credentials


@pytest.fixture(scope="module")
def credentials(google_oauth: GoogleOAuthStandIn) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        yield _connect(google_oauth)


# -- OAuth


def test_flow_with_pkce_gets_tokens_that_refresh(google_oauth: GoogleOAuthStandIn) -> None:
    flow = _flow(google_oauth, SCOPES)
    location = _approve(flow)
    seen = google_oauth.authorizations[-1]
    assert seen["code_challenge_method"] == "S256" and seen["access_type"] == "offline"
    assert location.startswith(REDIRECT + "?") and "code=" in location
    flow.fetch_token(authorization_response=location)
    creds = flow.credentials
    assert creds.token.startswith("ya29.") and creds.refresh_token and creds.valid
    info = httpx.get(google_oauth.userinfo_uri, headers={"Authorization": f"Bearer {creds.token}"})
    assert info.json()["email"] == "ada@example.com"

    first = creds.token
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.token != first and google_oauth.scopes_of(creds.token) == tuple(SCOPES)


def test_a_wrong_code_verifier_is_refused(google_oauth: GoogleOAuthStandIn) -> None:
    flow = _flow(google_oauth, SCOPES)
    location = _approve(flow)
    flow.code_verifier = "not-the-verifier-" + "x" * 40
    with pytest.raises(InvalidGrantError, match="Invalid code verifier"):
        flow.fetch_token(authorization_response=location)


def test_a_code_works_once_and_only_for_its_redirect_uri(google_oauth: GoogleOAuthStandIn) -> None:
    flow = _flow(google_oauth, SCOPES)
    location = _approve(flow)
    flow.fetch_token(authorization_response=location)
    with pytest.raises(InvalidGrantError, match="Malformed auth code"):
        flow.fetch_token(authorization_response=location)
    code = httpx.URL(_approve(flow)).params["code"]
    answer = httpx.post(
        google_oauth.token_uri,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:1/elsewhere",
            "code_verifier": flow.code_verifier,
            "client_id": google_oauth.client_id,
            "client_secret": google_oauth.client_secret,
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "redirect_uri_mismatch"


def test_a_wrong_client_secret_is_refused(google_oauth: GoogleOAuthStandIn) -> None:
    answer = httpx.post(
        google_oauth.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": google_oauth.client_id,
        },
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_a_revoked_refresh_token_no_longer_refreshes(google_oauth: GoogleOAuthStandIn) -> None:
    creds = _connect(google_oauth)
    revoked = httpx.post(google_oauth.revoke_uri, data={"token": creds.refresh_token})
    assert revoked.status_code == 200
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        creds.refresh(google.auth.transport.requests.Request())


def test_denied_consent_redirects_with_access_denied(google_oauth: GoogleOAuthStandIn) -> None:
    google_oauth.consent = "deny"
    try:
        location = _approve(_flow(google_oauth, SCOPES))
    finally:
        google_oauth.consent = "approve"
    assert "error=access_denied" in location and "code=" not in location


# -- APIs


def test_gmail_send_list_get_modify(google_apis: GoogleApisStandIn, credentials: Any) -> None:
    gmail = build_service(google_apis, "gmail", "v1", credentials)
    message = EmailMessage()
    message["To"], message["Subject"] = "bob@example.com", "Quarterly report"
    message.set_content("The numbers are in.")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    sent = gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    assert sent["labelIds"] == ["SENT"]

    listed = gmail.users().messages().list(userId="me", q="quarterly").execute()
    assert [m["id"] for m in listed["messages"]] == [sent["id"]]
    got = gmail.users().messages().get(userId="me", id=sent["id"]).execute()
    assert {"name": "Subject", "value": "Quarterly report"} in got["payload"]["headers"]
    body = {"addLabelIds": ["STARRED"], "removeLabelIds": ["SENT"]}
    modified = gmail.users().messages().modify(userId="me", id=sent["id"], body=body).execute()
    assert modified["labelIds"] == ["STARRED"]

    with pytest.raises(HttpError) as missing:
        gmail.users().messages().get(userId="me", id="nope").execute()
    assert (
        missing.value.status_code == 404 and missing.value.error_details[0]["reason"] == "notFound"
    )


def test_calendar_events_and_freebusy(google_apis: GoogleApisStandIn, credentials: Any) -> None:
    calendar = build_service(google_apis, "calendar", "v3", credentials)
    events = calendar.events()
    event = {
        "summary": "Stand-up",
        "start": {"dateTime": "2026-12-07T09:00:00+01:00"},
        "end": {"dateTime": "2026-12-07T09:15:00+01:00"},
    }
    made = events.insert(calendarId="primary", body=event).execute()
    window = {"timeMin": "2026-12-07T00:00:00Z", "timeMax": "2026-12-08T00:00:00Z"}
    listed = events.list(calendarId="primary", singleEvents=True, **window).execute()
    assert [e["id"] for e in listed["items"]] == [made["id"]]
    patched = events.patch(
        calendarId="primary", eventId=made["id"], body={"summary": "Sync"}
    ).execute()
    assert patched["summary"] == "Sync"

    busy = calendar.freebusy().query(body={**window, "items": [{"id": "primary"}]}).execute()
    assert busy["calendars"]["primary"]["busy"] == [
        {"start": "2026-12-07T08:00:00Z", "end": "2026-12-07T08:15:00Z"}  # as Google: in UTC
    ]
    events.delete(calendarId="primary", eventId=made["id"]).execute()
    # as Google: a deleted event is cancelled, and deleting it again is 410 Gone
    assert events.get(calendarId="primary", eventId=made["id"]).execute()["status"] == "cancelled"
    with pytest.raises(HttpError) as gone:
        events.delete(calendarId="primary", eventId=made["id"]).execute()
    assert gone.value.status_code == 410

    with pytest.raises(HttpError) as bad:
        events.insert(calendarId="primary", body={"summary": "no times"}).execute()
    assert bad.value.status_code == 400 and bad.value.error_details[0]["reason"] == "required"


def test_drive_resumable_upload_download_export_share(
    google_apis: GoogleApisStandIn, credentials: Any
) -> None:
    drive = build_service(google_apis, "drive", "v3", credentials)
    data = bytes(range(256)) * 2400  # 614,400 bytes: three chunks of 256 KiB
    media = MediaIoBaseUpload(io.BytesIO(data), "text/csv", chunksize=256 * 1024, resumable=True)
    request = drive.files().create(body={"name": "big.csv"}, media_body=media, fields="id,name")
    response, chunks = None, 0
    while response is None:
        _status, response = request.next_chunk()
        chunks += 1
    assert chunks == 3 and response["name"] == "big.csv"
    assert drive.files().get_media(fileId=response["id"]).execute() == data

    small = MediaIoBaseUpload(io.BytesIO(b"a,b\n1,2\n"), "text/csv", resumable=False)
    made = drive.files().create(body={"name": "small.csv"}, media_body=small).execute()
    assert google_apis.files[made["id"]]["content"] == b"a,b\n1,2\n"  # a multipart upload

    listed = drive.files().list(q="name contains 'big'", pageSize=10).execute()
    assert [f["id"] for f in listed["files"]] == [response["id"]]

    doc = (
        drive.files()
        .create(body={"name": "Notes", "mimeType": "application/vnd.google-apps.document"})
        .execute()
    )
    google_apis.files[doc["id"]]["content"] = b"Meeting notes"
    exported = drive.files().export(fileId=doc["id"], mimeType="text/plain").execute()
    assert exported == b"Meeting notes"
    with pytest.raises(HttpError) as not_downloadable:
        drive.files().get_media(fileId=doc["id"]).execute()
    assert not_downloadable.value.error_details[0]["reason"] == "fileNotDownloadable"

    share = {"role": "reader", "type": "user", "emailAddress": "bob@example.com"}
    permission = drive.permissions().create(fileId=doc["id"], body=share).execute()
    assert permission["role"] == "reader" and google_apis.permissions[doc["id"]] == [permission]


def test_an_expired_access_token_is_refreshed_by_the_client(
    google_oauth: GoogleOAuthStandIn, google_apis: GoogleApisStandIn
) -> None:
    creds = _connect(google_oauth)
    before = creds.token
    google_oauth.expire_access_tokens()
    drive = build_service(google_apis, "drive", "v3", creds)
    drive.files().list().execute()  # 401, then google-auth-httplib2 refreshes and retries
    assert creds.token != before and google_oauth.grants[-1] == "refresh_token"


def test_api_errors_have_googles_shape(
    google_oauth: GoogleOAuthStandIn, google_apis: GoogleApisStandIn, credentials: Any
) -> None:
    anonymous = httpx.get(f"{google_apis.root}/drive/v3/files")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["errors"][0]["reason"] == "authError"

    calendar_only = _connect(google_oauth, ["https://www.googleapis.com/auth/calendar"])
    with pytest.raises(HttpError) as scoped:
        build_service(google_apis, "drive", "v3", calendar_only).files().list().execute()
    assert scoped.value.status_code == 403
    assert scoped.value.error_details[0]["reason"] == "insufficientPermissions"

    google_apis.fail_next(429, "rateLimitExceeded", "Rate Limit Exceeded")
    gmail = build_service(google_apis, "gmail", "v1", credentials)
    with pytest.raises(HttpError) as limited:
        gmail.users().messages().list(userId="me").execute()
    assert limited.value.status_code == 429
    assert limited.value.error_details[0]["reason"] == "rateLimitExceeded"


def test_api_endpoint_option_serves_plain_calls(
    google_apis: GoogleApisStandIn, credentials: Any
) -> None:
    """The other way in: ``build(static_discovery=True)`` with ``api_endpoint``; fine for plain
    calls, but media uploads then keep the document's https scheme (see google_apis.py)."""
    drive = build(
        "drive",
        "v3",
        credentials=credentials,
        static_discovery=True,
        client_options={"api_endpoint": f"{google_apis.root}/drive/v3/"},
    )
    assert drive.files().list().execute()["kind"] == "drive#fileList"
