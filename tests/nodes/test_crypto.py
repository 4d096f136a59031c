"""auth: hash / verify (bcrypt, and the original's PBKDF2), tokens, HMAC signatures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import bcrypt
import pytest

from workscript_jupyter.engine import Edge, NodeContext
from workscript_jupyter.nodes.crypto import AuthNode

PASSWORD = "correct horse battery staple"
SECRET = "s3cr3t-key-value"


def execute(params: dict[str, Any], state: dict[str, Any] | None = None):
    state = {} if state is None else state
    ctx = NodeContext(state, node_id="a1", node_type="auth", node_path="/workflow/0/auth")
    edge = asyncio.run(AuthNode().execute(ctx, params))
    assert isinstance(edge, Edge)
    return edge.name, dict(edge.data or {}), state


def assert_no_secret(*values: Any) -> None:
    text = json.dumps(values, default=str)
    assert PASSWORD not in text and SECRET not in text


# ---- hash and verify ---------------------------------------------------------------------


def test_hash_writes_a_bcrypt_hash_with_the_given_cost():
    name, data, state = execute({"operation": "hash", "data": PASSWORD, "rounds": 4})
    assert name == "success"
    hashed = state["hashedPassword"]
    assert hashed.startswith("$2b$04$") and len(hashed) == 60
    assert data["hash"] == hashed and data["salt"] == hashed[:29]
    assert data["algorithm"] == "bcrypt" and data["rounds"] == 4
    assert bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    assert_no_secret(data, state)


def test_hash_defaults_to_cost_12(monkeypatch):
    seen: list[int] = []
    real = bcrypt.gensalt

    def spy(rounds: int = 12, prefix: bytes = b"2b") -> bytes:
        seen.append(rounds)
        return real(4, prefix)

    monkeypatch.setattr(bcrypt, "gensalt", spy)
    name, data, _ = execute({"operation": "hash", "data": PASSWORD})
    assert name == "success" and seen == [12] and data["rounds"] == 12


def test_two_hashes_of_one_password_differ():
    first = execute({"operation": "hash", "data": PASSWORD, "rounds": 4})[2]["hashedPassword"]
    second = execute({"operation": "hash", "data": PASSWORD, "rounds": 4})[2]["hashedPassword"]
    assert first != second


def test_verify_valid_and_invalid():
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    name, data, state = execute(
        {"operation": "verify", "data": {"password": PASSWORD, "hash": hashed}}
    )
    assert (name, data, state["authValid"]) == ("valid", {"valid": True}, True)
    name, data, state = execute(
        {"operation": "verify", "data": {"password": "wrong", "hash": hashed}}
    )
    assert (name, data, state["authValid"]) == ("invalid", {"valid": False}, False)
    assert_no_secret(data, state)


def test_verify_accepts_the_original_pbkdf2_hashes():
    salt = "0123456789abcdef" * 2  # the original's randomBytes(16).toString('hex')
    digest = hashlib.pbkdf2_hmac("sha512", PASSWORD.encode(), salt.encode(), 10_000, 64).hex()
    stored = f"{salt}:{digest}"
    assert (
        execute({"operation": "verify", "data": {"password": PASSWORD, "hash": stored}})[0]
        == "valid"
    )
    assert (
        execute({"operation": "verify", "data": {"password": "nope", "hash": stored}})[0]
        == "invalid"
    )


def test_hash_then_verify_in_a_workflow(run):
    document = {
        "id": "auth",
        "name": "auth",
        "version": "1.0.0",
        "initialState": {"password": PASSWORD},
        "workflow": [
            {"auth": {"operation": "hash", "data": "$.password", "rounds": 4}},
            {
                "auth": {
                    "operation": "verify",
                    "data": {"password": "$.password", "hash": "$.hashedPassword"},
                    "valid?": {"log": {"message": "welcome"}},
                    "invalid?": {"log": {"message": "denied"}},
                }
            },
        ],
    }
    result = run(document)
    assert result.status == "completed"
    assert list(result.logs) == ["welcome"]
    assert result.final_state["authValid"] is True


# ---- tokens ------------------------------------------------------------------------------


def test_generate_token():
    name, data, state = execute({"operation": "generate_token"})
    assert name == "success"
    token = state["authToken"]
    assert data == {"token": token}
    assert len(token) == 64 and int(token, 16) >= 0
    assert execute({"operation": "generate_token"})[2]["authToken"] != token
    assert len(execute({"operation": "generate_token", "length": 16})[2]["authToken"]) == 32


# ---- signatures --------------------------------------------------------------------------


def expected_signature(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_sign_text_and_objects():
    name, data, state = execute({"operation": "sign", "data": "order-1", "secret": SECRET})
    assert name == "success"
    assert state["signature"] == data["signature"] == expected_signature(b"order-1")
    assert data["data"] == "order-1"
    assert_no_secret(data, state)
    _, data, _ = execute({"operation": "sign", "data": {"b": 1, "a": "é"}, "secret": SECRET})
    assert data["signature"] == expected_signature('{"a":"é","b":1}'.encode())


def test_verify_signature_valid_and_invalid():
    signature = expected_signature(b"payload")
    params = {
        "operation": "verify_signature",
        "data": {"message": "payload", "signature": signature, "verifySecret": SECRET},
    }
    name, data, state = execute(params)
    assert (name, data, state["signatureValid"]) == ("valid", {"valid": True}, True)
    assert_no_secret(data, state)
    params["data"] = {**params["data"], "message": "tampered"}
    name, data, state = execute(params)
    assert (name, data, state["signatureValid"]) == ("invalid", {"valid": False}, False)


def test_verify_signature_takes_the_secret_parameter_and_any_case():
    signature = expected_signature(b"payload").upper()
    params = {
        "operation": "verify_signature",
        "secret": SECRET,
        "data": {"message": "payload", "signature": signature},
    }
    assert execute(params)[0] == "valid"
    params["data"] = {"message": "payload", "signature": "ü" * 64}
    assert execute(params)[0] == "invalid"


# ---- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "operation"),
        ({"operation": "encrypt", "data": "x"}, "operation"),
        ({"operation": "hash"}, "data"),
        ({"operation": "hash", "data": 12345}, "data"),
        ({"operation": "hash", "data": "x" * 73, "rounds": 4}, "72 bytes"),
        ({"operation": "hash", "data": PASSWORD, "rounds": 3}, "rounds"),
        ({"operation": "hash", "data": PASSWORD, "rounds": "4"}, "rounds"),
        ({"operation": "verify", "data": PASSWORD}, "data"),
        ({"operation": "verify", "data": {"hash": "$2b$04$" + "a" * 53}}, "data.password"),
        ({"operation": "verify", "data": {"password": PASSWORD}}, "data.hash"),
        ({"operation": "verify", "data": {"password": PASSWORD, "hash": "plain"}}, "data.hash"),
        ({"operation": "generate_token", "length": 8}, "length"),
        ({"operation": "sign", "data": "x"}, "secret"),
        ({"operation": "sign", "data": "x", "secret": ""}, "secret"),
        ({"operation": "sign", "secret": SECRET}, "data"),
        ({"operation": "verify_signature", "data": "x"}, "data"),
        (
            {"operation": "verify_signature", "data": {"message": "m", "verifySecret": SECRET}},
            "data.signature",
        ),
        (
            {"operation": "verify_signature", "data": {"message": "m", "signature": "ab"}},
            "data.verifySecret",
        ),
        (
            {"operation": "verify_signature", "data": {"signature": "ab", "verifySecret": SECRET}},
            "data.message",
        ),
    ],
)
def test_bad_input_takes_error_without_leaking(params, named):
    name, data, state = execute(params)
    assert name == "error", data
    assert named in data["error"]
    assert state == {}
    assert_no_secret(data)


def test_example_runs(run):
    step = {"auth": dict(AuthNode.metadata.example)}
    result = run({"id": "ex", "name": "ex", "version": "1.0.0", "workflow": [step]})
    assert result.status == "completed"
    assert len(result.final_state["authToken"]) == 64
