"""A test IdentityProvider with two users: ``Authorization: token alice-token`` is alice,
``token bob-token`` is bob, anything else is nobody (401/403)."""

from __future__ import annotations

from jupyter_server.auth import IdentityProvider, User

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
# what jupyterhub-singleuser hands a server: a User whose hub_user names the hub account
HUB_TOKENS = {"hub-carol-token": {"name": "carol", "groups": ["analysts"]}}


def auth(name: str) -> dict[str, str]:
    """The headers that authenticate as ``name``."""
    return {"Authorization": f"token {name}-token"}


class TwoUsersIdentityProvider(IdentityProvider):
    def get_user(self, handler):  # type: ignore[override]
        scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "token":
            return None
        token = token.strip()
        handler._token_authenticated = True  # token requests skip the XSRF check
        if token in HUB_TOKENS:
            user = User("jupyter-carol")
            user.hub_user = HUB_TOKENS[token]  # type: ignore[attr-defined]
            return user
        username = TOKENS.get(token)
        return User(username) if username is not None else None
