"""auth: hash, verify, generate_token, sign, verify_signature (constant-time comparisons).

The original hashed with PBKDF2-SHA512 (``salt:hash``); new hashes are bcrypt (cost ``rounds``,
default 12), and ``verify`` still accepts the original's PBKDF2 hashes so stored users keep
working. Every comparison is ``hmac.compare_digest``. The password and the secret key are never
written into the state, the edge data or an error message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec

__all__ = ["NODES", "AuthNode"]

OPERATIONS: Final = ("hash", "verify", "generate_token", "sign", "verify_signature")
DEFAULT_ROUNDS: Final = 12
DEFAULT_TOKEN_BYTES: Final = 32
_BCRYPT_HASH: Final = re.compile(r"^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$")
_PBKDF2_HASH: Final = re.compile(r"^[0-9a-f]+:[0-9a-f]{128}$")
_PBKDF2_ITERATIONS: Final = 10_000  # the original's parameters, for its stored hashes


class _BadInput(Exception):
    """A parameter is missing or wrong; the message never quotes a password or a secret."""


def _error(message: str, operation: Any) -> Edge:
    return Edge("error", {"error": message, "operation": operation})


class AuthNode(Node):
    metadata = NodeMetadata(
        id="auth",
        name="Authentication Operations",
        category="server",
        description=(
            "Hashes a password (bcrypt) and verifies one against a hash (bcrypt, or the "
            "original's PBKDF2 salt:hash), generates a random token, signs data with "
            "HMAC-SHA256 and verifies a signature. Comparisons are constant-time; passwords "
            "and secrets never reach the state."
        ),
        inputs=(
            ParamSpec("operation", "string", "the operation", True, choices=OPERATIONS),
            ParamSpec(
                "data",
                "string|object",
                "hash: the password; verify: {password, hash}; sign: the message; "
                "verify_signature: {message, signature, verifySecret}",
            ),
            ParamSpec("secret", "string", "sign (and verify_signature): the HMAC key"),
            ParamSpec("rounds", "integer", "(new) hash: bcrypt cost, 4-31", default=DEFAULT_ROUNDS),
            ParamSpec(
                "length",
                "integer",
                "(new) generate_token: random bytes (hex doubles them)",
                default=DEFAULT_TOKEN_BYTES,
            ),
        ),
        outputs=("hashedPassword", "authValid", "authToken", "signature", "signatureValid"),
        edges=("success", "valid", "invalid", "error"),
        example={
            "operation": "generate_token",
            "length": 32,
            "success?": {"log": {"message": "ok"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation")
        handler = _HANDLERS.get(operation) if isinstance(operation, str) else None
        if handler is None:
            shown = "missing" if operation is None else repr(operation)
            return _error(
                f"operation must be one of {', '.join(OPERATIONS)}; got {shown}", operation
            )
        try:
            return await handler(ctx, params)
        except _BadInput as exc:
            return _error(str(exc), operation)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _BadInput(f"{where} must be a non-empty string")
    return value


def _whole(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _BadInput(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _fields(params: dict[str, Any], *names: str) -> Mapping[str, Any]:
    data = params.get("data")
    if not isinstance(data, Mapping):
        raise _BadInput(f"data must be an object with {', '.join(names)}")
    return data


# ---- passwords ----------------------------------------------------------------------------


async def _hash(ctx: NodeContext, params: dict[str, Any]) -> Edge:
    import bcrypt

    password = _text(params.get("data"), "data (the password)").encode()
    if len(password) > 72:
        raise _BadInput("data (the password) is longer than bcrypt's 72 bytes")
    rounds = _whole(params, "rounds", DEFAULT_ROUNDS, 4, 31)
    salt = bcrypt.gensalt(rounds)
    hashed = (await asyncio.to_thread(bcrypt.hashpw, password, salt)).decode()
    ctx.state["hashedPassword"] = hashed
    return Edge(
        "success", {"hash": hashed, "salt": salt.decode(), "algorithm": "bcrypt", "rounds": rounds}
    )


async def _verify(ctx: NodeContext, params: dict[str, Any]) -> Edge:
    data = _fields(params, "password", "hash")
    password = _text(data.get("password"), "data.password").encode()
    stored = _text(data.get("hash"), "data.hash")
    if _BCRYPT_HASH.match(stored):
        valid = await asyncio.to_thread(_bcrypt_matches, password, stored.encode())
    elif _PBKDF2_HASH.match(stored):
        valid = await asyncio.to_thread(_pbkdf2_matches, password, stored)
    else:
        raise _BadInput("data.hash is neither a bcrypt hash nor the original's salt:hash")
    ctx.state["authValid"] = valid
    return Edge("valid" if valid else "invalid", {"valid": valid})


def _bcrypt_matches(password: bytes, stored: bytes) -> bool:
    import bcrypt

    if len(password) > 72:  # bcrypt refuses it; no stored hash can match
        return False
    try:
        computed = bcrypt.hashpw(password, stored)
    except ValueError:
        return False
    return hmac.compare_digest(computed, stored)


def _pbkdf2_matches(password: bytes, stored: str) -> bool:
    salt, expected = stored.split(":", 1)
    # the original passed the hex salt text itself to pbkdf2Sync, so its UTF-8 bytes are the salt
    computed = hashlib.pbkdf2_hmac("sha512", password, salt.encode(), _PBKDF2_ITERATIONS, 64)
    return hmac.compare_digest(computed.hex(), expected)


# ---- tokens and signatures ----------------------------------------------------------------


async def _generate_token(ctx: NodeContext, params: dict[str, Any]) -> Edge:
    size = _whole(params, "length", DEFAULT_TOKEN_BYTES, 16, 1024)
    token = secrets.token_hex(size)
    ctx.state["authToken"] = token
    return Edge("success", {"token": token})


def _message_bytes(value: Any, where: str) -> bytes:
    """Text as UTF-8; an object or list as compact JSON with sorted keys (new: stable)."""
    if isinstance(value, str) and value:
        return value.encode()
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode()
    raise _BadInput(f"{where} must be a non-empty string or an object")


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def _sign(ctx: NodeContext, params: dict[str, Any]) -> Edge:
    message = _message_bytes(params.get("data"), "data (the message)")
    secret = _text(params.get("secret"), "secret")
    signature = _hmac_hex(secret, message)
    ctx.state["signature"] = signature
    return Edge("success", {"signature": signature, "data": params["data"]})


async def _verify_signature(ctx: NodeContext, params: dict[str, Any]) -> Edge:
    data = _fields(params, "message", "signature", "verifySecret")
    message = _message_bytes(data.get("message"), "data.message")
    signature = _text(data.get("signature"), "data.signature")
    secret = _text(data.get("verifySecret") or params.get("secret"), "data.verifySecret")
    expected = _hmac_hex(secret, message)
    valid = hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
    ctx.state["signatureValid"] = valid
    return Edge("valid" if valid else "invalid", {"valid": valid})


_HANDLERS: Final = {
    "hash": _hash,
    "verify": _verify,
    "generate_token": _generate_token,
    "sign": _sign,
    "verify_signature": _verify_signature,
}

NODES: tuple[type[Node], ...] = (AuthNode,)
