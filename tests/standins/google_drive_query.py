"""Drive's query language (``files.list``'s ``q``), as much of it as the stand-in answers:
``name = / != / contains``, ``mimeType = / != / contains``, ``'<id>' in parents``,
``trashed = / != true|false``, ``fullText contains`` (the name here), joined by ``and`` / ``or``
/ ``not`` and parentheses; ``\\'`` and ``\\\\`` escape in strings. Anything else is a
``QueryError`` (Google's 400 ``invalid`` on ``q``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["QueryError", "parse_query"]


class QueryError(ValueError):
    """A ``q`` Drive cannot read (400 ``invalid``)."""


Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*')|(!=|<=|>=|[=<>()])|([A-Za-z]+))")


def _tokens(query: str) -> list[str]:
    tokens, position = [], 0
    while position < len(query.rstrip()):
        match = _TOKEN.match(query, position)
        if match is None:
            raise QueryError(f"cannot read the query at {query[position:][:20]!r}")
        tokens.append(match.group(match.lastindex or 0))
        position = match.end()
    return tokens


def _string(token: str) -> str:
    if not (len(token) >= 2 and token[0] == token[-1] == "'"):
        raise QueryError(f"expected a quoted string, not {token!r}")
    return re.sub(r"\\(.)", r"\1", token[1:-1])


class _Query:
    """Drive's query language, enough for the nodes: a recursive descent into a predicate."""

    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.at = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda _file: True
        predicate = self.disjunction()
        if self.at != len(self.tokens):
            raise QueryError(f"unexpected {self.tokens[self.at]!r}")
        return predicate

    def take(self) -> str:
        if self.at >= len(self.tokens):
            raise QueryError("the query ends too early")
        self.at += 1
        return self.tokens[self.at - 1]

    def peek(self) -> str:
        return self.tokens[self.at].lower() if self.at < len(self.tokens) else ""

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            parts.append(self.conjunction())
        return lambda f: any(p(f) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.peek() == "and":
            self.take()
            parts.append(self.negation())
        return lambda f: all(p(f) for p in parts)

    def negation(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.negation()
            return lambda f: not inner(f)
        if self.peek() == "(":
            self.take()
            inner = self.disjunction()
            if self.take() != ")":
                raise QueryError("a parenthesis is not closed")
            return inner
        return self.term()

    def term(self) -> Predicate:
        first = self.take()
        if first.startswith("'"):
            value = _string(first)
            if self.take().lower() != "in" or self.take() != "parents":
                raise QueryError("expected 'in parents' after a string")
            return lambda f: value in f.get("parents", [])
        field, operator, raw = first, self.take().lower(), self.take()
        if field == "trashed" and operator in ("=", "!=") and raw in ("true", "false"):
            wanted = (raw == "true") == (operator == "=")
            return lambda f: bool(f.get("trashed")) == wanted
        value = _string(raw)
        if field in ("name", "mimeType", "fullText") and operator == "contains":
            key = "name" if field == "fullText" else field
            return lambda f: value.lower() in str(f.get(key, "")).lower()
        if field in ("name", "mimeType") and operator in ("=", "!="):
            equal = operator == "="
            return lambda f: (f.get(field) == value) == equal
        raise QueryError(f"unsupported term {field} {operator}")


def parse_query(query: str) -> Predicate:
    """A predicate on a stored file: whether ``query`` selects it."""
    return _Query(query).parse()
