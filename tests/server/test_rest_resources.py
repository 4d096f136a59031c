"""Resources over REST on a shared server with two users: CRUD, bytes, uploads, paging,
filters, scoping (private and public), limits and bad input."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest

from workscript_jupyter.auth.permissions import ROLE_PERMISSIONS

from .conftest import Api, Reply, TwoUsers, server_config
from .identity import TwoUsersIdentityProvider

MAX_BYTES = 4096  # resource_max_bytes of this server
REST_LIMIT = 2048  # max_request_body_mb: smaller than a full-size resource in base64
BINARY = bytes(range(256)) * 2  # every byte value, not UTF-8


def multipart(
    fields: dict[str, str], file: tuple[str, bytes, str] | None
) -> tuple[bytes, dict[str, str]]:
    """A ``multipart/form-data`` body and its Content-Type header."""
    boundary = f"----ws{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if file is not None:
        filename, data, kind = file
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def create(api: Api, path: str, content: str = "hello", **fields: Any) -> dict[str, Any]:
    reply = await api.post("resources", json_body={"path": path, "content": content, **fields})
    assert reply.code == 201, reply.raw
    return reply.body  # type: ignore[no-any-return]


async def content_of(api: Api, resource_id: str, **kwargs: Any) -> Reply:
    """The raw bytes route (not JSON: the spec checker reads JSON bodies only)."""
    return await api.unchecked().get("resources", resource_id, "content", **kwargs)


def field_of(reply: Reply) -> str:
    assert reply.code == 400, reply.raw
    assert reply.error["code"] == "BAD_REQUEST", reply.raw
    return str(reply.error["details"][0]["field"])


class TestResources(TwoUsers):
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(
            workscript_db_url,
            server={"identity_provider_class": TwoUsersIdentityProvider},
            single_user=False,
            admin_users=[],
            resource_max_bytes=MAX_BYTES,
            max_request_body_mb=REST_LIMIT / (1024 * 1024),
        )

    async def test_crud_with_text(self, alice: Api) -> None:
        created = await alice.post(
            "resources",
            json_body={
                "path": "prompts/greet.md",
                "content": "Hi {{$.name}} ✓",
                "description": "greeting",
                "tags": ["email", "email", "onboarding"],
            },
        )
        assert created.code == 201, created.raw
        body = created.body
        assert created.headers["Location"].endswith(f"/workscript/resources/{body['id']}")
        data = "Hi {{$.name}} ✓".encode()
        assert body["name"] == "greet.md" and body["path"] == "prompts/greet.md"
        assert (body["type"], body["mimeType"]) == ("document", "text/markdown")
        assert (body["size"], body["checksum"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert body["tags"] == ["email", "onboarding"] and body["isPublic"] is False
        assert (await alice.get("resources", body["id"])).body == body

        raw = await content_of(alice, body["id"])
        assert raw.code == 200 and raw.raw == data
        assert raw.headers["Content-Type"] == "text/markdown"
        assert raw.headers["ETag"] == f'"{body["checksum"]}"'
        assert raw.headers["X-Content-Type-Options"] == "nosniff"
        assert raw.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in raw.headers["Content-Security-Policy"]
        fresh = await content_of(alice, body["id"], headers={"If-None-Match": raw.headers["ETag"]})
        assert fresh.code == 304 and fresh.raw == b""

        changed = await alice.put(
            "resources", body["id"], json_body={"name": "Greeting", "type": "prompt"}
        )
        assert changed.code == 200, changed.raw
        assert (changed.body["name"], changed.body["type"]) == ("Greeting", "prompt")
        assert changed.body["checksum"] == body["checksum"]
        patched = await alice.call(
            "PATCH", "resources", body["id"], json_body={"content": "v2", "isPublic": True}
        )
        assert patched.code == 200, patched.raw
        assert patched.body["checksum"] == hashlib.sha256(b"v2").hexdigest()
        assert (patched.body["name"], patched.body["isPublic"]) == ("Greeting", True)
        assert (await alice.delete("resources", body["id"])).code == 204
        assert (await alice.get("resources", body["id"])).code == 404
        assert (await content_of(alice, body["id"])).code == 404

    async def test_bytes_round_trip_and_content_updates(self, alice: Api) -> None:
        encoded = base64.b64encode(BINARY).decode()
        made = await alice.post(
            "resources", json_body={"path": "img/raw.bin", "contentBase64": encoded}
        )
        assert made.code == 201, made.raw
        rid = made.body["id"]
        assert made.body["mimeType"] == "application/octet-stream"
        assert (await content_of(alice, rid)).raw == BINARY

        raw_put = await alice.put(
            "resources",
            rid,
            "content",
            body=BINARY[::-1],
            headers={"Content-Type": "application/octet-stream"},
        )
        assert raw_put.code == 200, raw_put.raw
        assert raw_put.body["previousChecksum"] == hashlib.sha256(BINARY).hexdigest()
        assert raw_put.body["resource"]["size"] == len(BINARY)
        assert (await content_of(alice, rid)).raw == BINARY[::-1]

        json_put = await alice.put("resources", rid, "content", json_body={"content": "text"})
        assert json_put.code == 200, json_put.raw
        assert json_put.body["previousChecksum"] == hashlib.sha256(BINARY[::-1]).hexdigest()
        assert (await content_of(alice, rid)).raw == b"text"
        assert json_put.body["resource"]["mimeType"] == "application/octet-stream"  # kept

        empty = await alice.put(
            "resources", rid, "content", body=b"", headers={"Content-Type": "text/plain"}
        )
        assert empty.code == 200 and empty.body["resource"]["size"] == 0
        extra = await alice.put("resources", rid, "content", json_body={"content": "x", "n": 1})
        assert field_of(extra) == "n"

    async def test_multipart_upload(self, alice: Api) -> None:
        body, headers = multipart(
            {"tags": "logo, brand", "isPublic": "true", "description": "our logo"},
            ("logo.png", BINARY, "image/png"),
        )
        reply = await alice.post("resources", body=body, headers=headers)
        assert reply.code == 201, reply.raw
        made = reply.body
        assert (made["path"], made["name"], made["type"]) == ("logo.png", "logo.png", "image")
        assert (made["mimeType"], made["tags"], made["isPublic"]) == (
            "image/png",
            ["logo", "brand"],
            True,
        )
        assert (await content_of(alice, made["id"])).raw == BINARY

        body, headers = multipart(
            {"path": "docs/notes.txt", "type": "prompt"},
            ("C:\\Users\\me\\notes.txt", b"n", "application/octet-stream"),
        )
        named = await alice.post("resources", "create", body=body, headers=headers)
        assert named.code == 201, named.raw
        assert (named.body["path"], named.body["mimeType"]) == ("docs/notes.txt", "text/plain")

        no_path, headers = multipart({}, ("..\\..\\evil.txt", b"x", "text/plain"))
        assert (await alice.post("resources", body=no_path, headers=headers)).code == 201
        for fields, file, field in (
            ({"path": "a.txt"}, None, "file"),
            ({"path": "b.txt", "colour": "red"}, ("b.txt", b"x", "text/plain"), "colour"),
            ({"path": "c.txt", "isPublic": "yes"}, ("c.txt", b"x", "text/plain"), "isPublic"),
            ({"path": "../c.txt"}, ("c.txt", b"x", "text/plain"), "path"),
        ):
            bad, headers = multipart(fields, file)
            assert field_of(await alice.post("resources", body=bad, headers=headers)) == field
        broken = await alice.post(
            "resources",
            body=b"--x\r\nnonsense",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert field_of(broken) == "body"

    async def test_the_alias_and_conflicts(self, alice: Api, bob: Api) -> None:
        made = await alice.post(
            "resources", "create", json_body={"path": "a.txt", "content": "one", "name": "A"}
        )
        assert made.code == 201 and made.body["name"] == "A"
        again = await alice.post("resources", json_body={"path": "a.txt", "content": "two"})
        assert again.code == 409 and "a.txt" in again.error["message"]
        await create(bob, "a.txt")  # paths are per owner
        other = await create(alice, "b.txt")
        moved = await alice.put("resources", other["id"], json_body={"path": "a.txt"})
        assert moved.code == 409

    async def test_paging_and_filters(self, alice: Api, bob: Api) -> None:
        greet = await create(alice, "prompts/greet.md", type="prompt", tags=["email", "x"])
        promo = await create(alice, "prompts/promo.md", type="prompt", tags=["email"])
        sale = await create(alice, "data/50%_off.json", "{}", name="Sale")
        logo = await create(alice, "img/Logo.png", description="The LOGO")
        shared = await create(bob, "shared/prompt.md", type="prompt", isPublic=True)
        await create(bob, "bob/private.md", type="prompt", tags=["email"])

        async def ids(**params: Any) -> list[str]:
            found: list[str] = []
            cursor = None
            while True:
                query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
                reply = await alice.get("resources", params=query)
                assert reply.code == 200, reply.raw
                assert reply.body["count"] == len(reply.body["items"]) <= 2
                found += [item["id"] for item in reply.body["items"]]
                cursor = reply.body["nextCursor"]
                if cursor is None:
                    return found

        mine = [logo["id"], sale["id"], promo["id"], greet["id"]]
        assert await ids() == [shared["id"], *mine]  # public ones by default
        assert await ids(public="exclude") == mine
        assert await ids(public="only") == [shared["id"]]
        assert await ids(type="prompt") == [shared["id"], promo["id"], greet["id"]]
        assert await ids(tags="email") == [promo["id"], greet["id"]]
        assert await ids(tags="email, x") == [greet["id"]]
        assert await ids(search="logo") == [logo["id"]]
        assert await ids(search="%") == [sale["id"]]
        assert await ids(pathPrefix="prompts/", public="exclude") == [promo["id"], greet["id"]]
        assert await ids(pathPrefix="img/l") == []
        for params, field in (
            ({"type": "video"}, "type"),
            ({"public": "all"}, "public"),
            ({"tags": ",".join(f"t{i}" for i in range(21))}, "tags"),
            ({"search": "s" * 201}, "search"),
        ):
            assert field_of(await alice.get("resources", params=params)) == field
        assert (await alice.get("resources", params={"limit": 0})).code == 400
        assert (await alice.get("resources", params={"cursor": "nonsense"})).code == 400

    async def test_another_users_private_resource_is_not_found(self, alice: Api, bob: Api) -> None:
        secret = await create(alice, "secret.txt", "mine")
        rid = secret["id"]
        assert (await bob.get("resources", rid)).code == 404
        assert (await content_of(bob, rid)).code == 404
        assert (await bob.put("resources", rid, json_body={"name": "x"})).code == 404
        assert (await bob.put("resources", rid, "content", json_body={"content": "x"})).code == 404
        assert (await bob.delete("resources", rid)).code == 404
        assert (await bob.get("resources")).body["items"] == []
        assert (await content_of(alice, rid)).raw == b"mine"

    async def test_a_public_resource_is_read_by_all_and_changed_by_its_owner(
        self, alice: Api, bob: Api
    ) -> None:
        shared = await create(alice, "shared.md", "for all", isPublic=True)
        rid = shared["id"]
        assert (await bob.get("resources", rid)).body == shared
        assert (await content_of(bob, rid)).raw == b"for all"
        for reply in (
            await bob.put("resources", rid, json_body={"name": "mine now"}),
            await bob.call("PATCH", "resources", rid, json_body={"content": "defaced"}),
            await bob.put("resources", rid, "content", json_body={"content": "defaced"}),
            await bob.delete("resources", rid),
        ):
            assert reply.code == 403 and reply.error["code"] == "FORBIDDEN", reply.raw
        assert (await content_of(alice, rid)).raw == b"for all"
        private = await alice.put("resources", rid, json_body={"isPublic": False})
        assert private.code == 200
        assert (await bob.get("resources", rid)).code == 404

    async def test_content_over_the_limit_is_413(self, alice: Api) -> None:
        full = base64.b64encode(b"x" * MAX_BYTES).decode()  # over the REST limit, yet it fits
        fits = await alice.post("resources", json_body={"path": "full.bin", "contentBase64": full})
        assert fits.code == 201, fits.raw
        big = b"y" * (MAX_BYTES + 1)
        upload, upload_headers = multipart({}, ("big.bin", big, "text/plain"))
        for reply in (
            await alice.post(
                "resources",
                json_body={"path": "big.bin", "contentBase64": base64.b64encode(big).decode()},
            ),
            await alice.post("resources", json_body={"path": "big.txt", "content": "y" * 4097}),
            await alice.put(
                "resources",
                fits.body["id"],
                "content",
                body=big,
                headers={"Content-Type": "application/octet-stream"},
            ),
            await alice.post("resources", body=upload, headers=upload_headers),
        ):
            assert reply.code == 413, reply.raw
            assert reply.error["code"] == "PAYLOAD_TOO_LARGE"
        huge = await alice.put(
            "resources",
            fits.body["id"],
            "content",
            body=b"z" * 20_000,  # over even the resource routes' body limit
            headers={"Content-Type": "application/octet-stream"},
        )
        assert huge.code == 413
        assert (await content_of(alice, fits.body["id"])).raw == b"x" * MAX_BYTES

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"content": "x"}, "path"),
            ({"path": "a.txt"}, "content"),
            ({"path": "../a.txt", "content": "x"}, "path"),
            ({"path": "/etc/passwd", "content": "x"}, "path"),
            ({"path": "a\\b.txt", "content": "x"}, "path"),
            ({"path": "a//b.txt", "content": "x"}, "path"),
            ({"path": "a/./b.txt", "content": "x"}, "path"),
            ({"path": "a\nb.txt", "content": "x"}, "path"),
            ({"path": "p" * 513, "content": "x"}, "path"),
            ({"path": 5, "content": "x"}, "path"),
            ({"path": "a.txt", "content": "x", "name": "n" * 256}, "name"),
            ({"path": "a.txt", "content": "x", "name": " "}, "name"),
            ({"path": "a.txt", "content": "x", "name": "a\r\nSet-Cookie: x"}, "name"),
            ({"path": "a.txt", "content": "x", "type": "video"}, "type"),
            ({"path": "a.txt", "content": "x", "mimeType": "not a type"}, "mimeType"),
            ({"path": "a.txt", "content": "x", "tags": "a,b"}, "tags"),
            ({"path": "a.txt", "content": "x", "tags": [f"t{i}" for i in range(21)]}, "tags"),
            ({"path": "a.txt", "content": "x", "tags": ["t" * 51]}, "tags[0]"),
            ({"path": "a.txt", "content": "x", "tags": ["ok", 3]}, "tags[1]"),
            ({"path": "a.txt", "content": "x", "description": "d" * 2001}, "description"),
            ({"path": "a.txt", "content": "x", "isPublic": "yes"}, "isPublic"),
            ({"path": "a.txt", "contentBase64": "***"}, "contentBase64"),
            ({"path": "a.txt", "content": "x", "contentBase64": "eA=="}, "content"),
            ({"path": "a.txt", "content": 5}, "content"),
            ({"path": "a.txt", "content": "x", "owner": "bob"}, "owner"),
        ],
    )
    async def test_bad_input_is_400_naming_the_field(
        self, alice: Api, body: dict[str, Any], field: str
    ) -> None:
        assert field_of(await alice.post("resources", json_body=body)) == field

    async def test_bad_updates_and_media_types(self, alice: Api) -> None:
        made = await create(alice, "a.txt")
        assert field_of(await alice.put("resources", made["id"], json_body={})) == "body"
        assert field_of(await alice.put("resources", made["id"], json_body={"path": ".."})) == (
            "path"
        )
        text = await alice.post("resources", body="hello", headers={"Content-Type": "text/plain"})
        assert text.code == 415
        upload, headers = multipart({}, ("a.txt", b"x", "text/plain"))
        assert (await alice.put("resources", made["id"], body=upload, headers=headers)).code == 415
        assert (await alice.get("resources", "0" * 32)).code == 404


def test_service_accounts_may_read_resources_and_nothing_more() -> None:
    api = ROLE_PERMISSIONS["api"]
    assert "resource:read" in api
    assert not {"resource:create", "resource:update", "resource:delete"} & api


class TestLargeBodies(TwoUsers):
    """A resource body can be tens of MB (its content in base64): it is parsed, and its depth
    checked, in a thread, never on the event loop (small bodies stay on the loop)."""

    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(
            workscript_db_url,
            server={"identity_provider_class": TwoUsersIdentityProvider},
            single_user=False,
            admin_users=[],
            resource_max_bytes=4 * 1024 * 1024,
        )

    async def test_a_large_json_body_is_read_off_the_event_loop(
        self, alice: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import threading

        from workscript_jupyter.server import base

        threads: list[tuple[int, int]] = []  # (body length, thread) of each parse
        real = base.load_json

        def recorded(body: Any, **kwargs: Any) -> Any:
            threads.append((len(body), threading.get_ident()))
            return real(body, **kwargs)

        monkeypatch.setattr(base, "load_json", recorded)
        loop_thread = threading.get_ident()  # the server's loop runs the test's loop
        await create(alice, "small.txt", "x" * 1000)
        await create(alice, "large.txt", "x" * (2 * 1024 * 1024))
        (small, small_thread), (large, large_thread) = threads
        assert small < base.OFF_LOOP_BODY_BYTES < large
        assert small_thread == loop_thread
        assert large_thread != loop_thread
