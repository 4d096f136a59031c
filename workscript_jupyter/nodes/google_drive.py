"""The Google Drive nodes: listFiles, createFolder and shareFile here; downloadFile and
uploadFile (files in the run root) in google_drive_transfer.py.

Each reaches Drive v3 through the run's Google gateway as the step's ``connection`` (see
google_common.py) and needs the ``drive`` or ``drive.file`` scope. A failure takes
``not_found`` / ``permission_denied`` / ``quota_exceeded`` (``error`` when the step does not
branch on them) or ``error``; a parameter the node refuses is an ``error`` edge naming it,
before anything is sent.
"""

from __future__ import annotations

from typing import Any, Final

from ..engine import Edge, Node, NodeContext, ParamSpec
from ..errors import GoogleError
from .google_common import DRIVE, bad_parameter, call_google, failure_edge, google_metadata
from .google_drive_common import (
    DRIVE_SCOPES,
    FILE_FIELDS,
    FOLDER_MIME,
    drive_file,
    drive_id,
    required_drive_id,
)
from .google_drive_transfer import DownloadFileNode, UploadFileNode
from .google_params import flag, is_email, one_of, optional_string, whole_number
from .google_requests import execute

__all__ = [
    "NODES",
    "CreateFolderNode",
    "DownloadFileNode",
    "ListFilesNode",
    "ShareFileNode",
    "UploadFileNode",
]

# the fields listFiles may ask for: Drive's own names, never a field mask of the caller's
LISTABLE_FIELDS: Final = (
    *FILE_FIELDS,
    "createdTime",
    "description",
    "md5Checksum",
    "starred",
    "trashed",
    "webContentLink",
    "iconLink",
)
MAX_QUERY: Final = 2000
MAX_PAGE_TOKEN: Final = 2048
MAX_NAME: Final = 1024
MAX_MESSAGE: Final = 2000
SHARE_ROLES: Final = ("reader", "commenter", "writer")  # owner: never from a workflow
GRANTEE_TYPES: Final = ("user", "group", "anyone")


def _fields(params: dict[str, Any]) -> tuple[str, ...]:
    value = params.get("fields")
    if value is None:
        return FILE_FIELDS
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(f, str) and f in LISTABLE_FIELDS for f in value)
    ):
        raise bad_parameter(f'Parameter "fields" must be a list of: {", ".join(LISTABLE_FIELDS)}')
    return ("id", *dict.fromkeys(f for f in value if f != "id"))


def _list_query(params: dict[str, Any]) -> str:
    """``query`` (the caller's own, in parentheses), the folder, and not trashed."""
    clauses = []
    if (query := optional_string(params, "query", MAX_QUERY)) is not None:
        clauses.append(f"({query})")
    if (folder := drive_id(params, "folderId")) is not None:
        clauses.append(f"'{folder}' in parents")  # drive_id admits no quote
    if not flag(params, "includeTrashed"):
        clauses.append("trashed = false")
    return " and ".join(clauses)


class ListFilesNode(Node):
    metadata = google_metadata(
        id="listFiles",
        name="List Drive Files",
        description=(
            "Lists files in Google Drive (needs the drive or drive.file scope): a Drive query "
            "(query, e.g. name contains 'report'), in a folder (folderId), trashed ones only "
            "with includeTrashed. One page of pageSize files; pass filesNextPageToken as "
            "pageToken for the next. Sets files, filesNextPageToken and filesCount; no_results "
            "when nothing matches."
        ),
        inputs=(
            ParamSpec("query", "string", "a Drive search query (q), e.g. name contains 'x'"),
            ParamSpec("folderId", "string", "only the files in this folder ('root': My Drive)"),
            ParamSpec("pageSize", "number", "files per page, 1 to 1000", False, 100),
            ParamSpec("pageToken", "string", "the page to get: a filesNextPageToken"),
            ParamSpec(
                "fields",
                "string[]",
                "the file fields to get (default: id, name, mimeType, size, modifiedTime, "
                "parents, webViewLink)",
                False,
                None,
                LISTABLE_FIELDS,
            ),
            ParamSpec("includeTrashed", "boolean", "list trashed files too", False, False),
        ),
        outputs=("files", "filesNextPageToken", "filesCount"),
        edges=("no_results",),
        example={
            "query": "name contains 'report'",
            "folderId": "root",
            "pageSize": 20,
            "success?": {"$.reports": "$.files"},
            "no_results?": {"$.reports": []},
            "error?": {"$.failed": "$._edgeContext"},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            query = _list_query(params)
            size = whole_number(params, "pageSize", 100, 1, 1000)
            token = optional_string(params, "pageToken", MAX_PAGE_TOKEN)
            fields = _fields(params)

            def list_page(service: Any) -> dict[str, Any]:
                request = service.files().list(
                    q=query or None,
                    pageSize=size,
                    pageToken=token,
                    fields=f"nextPageToken,files({','.join(fields)})",
                )
                answer: dict[str, Any] = execute(request)
                return answer

            answer = await call_google(ctx, params, DRIVE, list_page, DRIVE_SCOPES)
        except GoogleError as error:
            return failure_edge(error)
        files = [drive_file(f, fields) for f in answer.get("files") or []]
        next_token = answer.get("nextPageToken") or None
        ctx.state["files"] = files
        ctx.state["filesNextPageToken"] = next_token
        ctx.state["filesCount"] = len(files)
        if not files:
            return Edge("no_results", {"count": 0, "query": query, "nextPageToken": next_token})
        return Edge("success", {"files": files, "count": len(files), "nextPageToken": next_token})


class CreateFolderNode(Node):
    metadata = google_metadata(
        id="createFolder",
        name="Create Drive Folder",
        description=(
            "Creates a folder in Google Drive (needs the drive or drive.file scope), in My "
            "Drive or in the folder parentId. Sets createdFolder: its id, name, parents and "
            "webViewLink."
        ),
        inputs=(
            ParamSpec("name", "string", "the folder's name", True),
            ParamSpec("parentId", "string", "the folder to create it in (default: My Drive)"),
        ),
        outputs=("createdFolder",),
        example={
            "name": "Reports 2026",
            "success?": {"$.folderId": "$.createdFolder.id"},
            "error?": {"$.failed": "$._edgeContext"},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            name = optional_string(params, "name", MAX_NAME, required="the folder's name")
            parent = drive_id(params, "parentId")
            body: dict[str, Any] = {"name": name, "mimeType": FOLDER_MIME}
            if parent is not None:
                body["parents"] = [parent]

            def create(service: Any) -> dict[str, Any]:
                fields = "id,name,mimeType,parents,webViewLink"
                made: dict[str, Any] = execute(service.files().create(body=body, fields=fields))
                return made

            made = await call_google(ctx, params, DRIVE, create, DRIVE_SCOPES)
        except GoogleError as error:
            return failure_edge(error)
        folder = drive_file(made, ("id", "name", "parents", "webViewLink"))
        ctx.state["createdFolder"] = folder
        return Edge("success", folder)


def _grantee(params: dict[str, Any]) -> tuple[str, str | None]:
    """(type, email): a user or group by email, or anyone with the link."""
    email = optional_string(params, "email", 254)
    kind = params.get("type") or ("user" if email is not None else None)
    if kind not in GRANTEE_TYPES:
        raise bad_parameter(
            'Parameter "type" must be one of user, group, anyone (or give "email" to share '
            "with a user)"
        )
    if kind == "anyone":
        if email is not None:
            raise bad_parameter('Parameter "email" is not used with type "anyone"')
        return kind, None
    if email is None or not is_email(email):
        raise bad_parameter(f'Parameter "email" must be an email address to share with a {kind}')
    return kind, email


class ShareFileNode(Node):
    metadata = google_metadata(
        id="shareFile",
        name="Share Drive File",
        description=(
            "Shares a Google Drive file or folder (needs the drive or drive.file scope): with "
            "a user or group by email, or with anyone who has the link (type anyone), as "
            "reader, commenter or writer (never owner). Google emails users and groups unless "
            "sendNotification is false, with message if given. Sets sharedFile."
        ),
        inputs=(
            ParamSpec("fileId", "string", "the file or folder to share", True),
            ParamSpec("email", "string", "who to share with (a user's or group's email)"),
            ParamSpec(
                "type",
                "string",
                "who: user (default with email), group, anyone",
                False,
                None,
                GRANTEE_TYPES,
            ),
            ParamSpec("role", "string", "what they may do", False, "reader", SHARE_ROLES),
            ParamSpec("sendNotification", "boolean", "Google emails a user or group", False, True),
            ParamSpec("message", "string", "a note in that email (at most 2000 characters)"),
        ),
        outputs=("sharedFile",),
        example={
            "fileId": "1a2b3c4d5e",
            "email": "bob@example.org",
            "role": "commenter",
            "message": "Your comments, please",
            "success?": {"$.shared": "$.sharedFile"},
            "error?": {"$.failed": "$._edgeContext"},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            file_id = required_drive_id(params, "fileId")
            kind, email = _grantee(params)
            if params.get("role") == "owner":
                raise bad_parameter('Parameter "role": a workflow cannot give a file away (owner)')
            role = one_of(params, "role", SHARE_ROLES) or "reader"
            options = _notification(params, kind)
            body = {"type": kind, "role": role, **({"emailAddress": email} if email else {})}

            def share(service: Any) -> dict[str, Any]:
                request = service.permissions().create(
                    fileId=file_id, body=body, fields="id,type,role,emailAddress", **options
                )
                made: dict[str, Any] = execute(request)
                return made

            made = await call_google(ctx, params, DRIVE, share, DRIVE_SCOPES)
        except GoogleError as error:
            return failure_edge(error)
        shared = {
            "fileId": file_id,
            "permissionId": made.get("id"),
            "role": made.get("role", role),
            "type": kind,
            "email": email,
        }
        ctx.state["sharedFile"] = shared
        return Edge("success", shared)


def _notification(params: dict[str, Any], kind: str) -> dict[str, Any]:
    """The permissions.create options of Google's email: for users and groups only."""
    notify = flag(params, "sendNotification", True)
    message = optional_string(params, "message", MAX_MESSAGE)
    if kind == "anyone":
        if message is not None:
            raise bad_parameter('Parameter "message" is only emailed to a user or a group')
        return {}
    if message is not None and not notify:
        raise bad_parameter('Parameter "message" needs "sendNotification": true')
    options: dict[str, Any] = {"sendNotificationEmail": notify}
    if message is not None:
        options["emailMessage"] = message
    return options


NODES = (ListFilesNode, DownloadFileNode, UploadFileNode, CreateFolderNode, ShareFileNode)
