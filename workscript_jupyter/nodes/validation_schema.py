"""validateData's ``json_schema`` check, with the schema's patterns on the bounded matcher.

``jsonschema`` matches ``pattern``, ``patternProperties`` and ``additionalProperties`` (which
skips the keys ``patternProperties`` matched) with Python's ``re``: no time limit, and the GIL
held throughout. The validator classes here extend each draft's (``jsonschema.validators.
extend``) so that these keywords, and the ``regex`` format, go through ``text_regex`` and
``patterns.py`` (JavaScript syntax, as JSON Schema specifies; length and time limits). A limit
hit names the keyword's place in the schema: ``schema.properties.name.pattern``.

``unevaluatedProperties`` finds the keys ``patternProperties`` matched with ``re`` deep inside
jsonschema; a schema that uses both is refused rather than matched without a limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from .patterns import PatternLimitError
from .text_regex import PatternSyntaxError, UserRegex, compile_user_regex

__all__ = ["BadSchema", "schema_problems", "schema_uses_patterns"]

Problems = list[dict[str, Any]]


class BadSchema(ValueError):
    """The schema parameter cannot be used; the message says why."""


class _PatternHit(Exception):
    """Raised through jsonschema (which only catches ValidationError) to the caller, who knows
    the whole schema and can say where the pattern is."""

    def __init__(self, keyword: str, pattern: str, limit: PatternLimitError) -> None:
        super().__init__(str(limit))
        self.keyword, self.pattern, self.limit = keyword, pattern, limit


def schema_uses_patterns(schema: Any) -> bool:
    """Whether a schema holds ``pattern`` or ``patternProperties`` anywhere (then it is
    validated off the event loop)."""
    return any(key in ("pattern", "patternProperties") for key, _ in _keywords(schema))


def _keywords(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every (key, path of its object) of every object in the schema, depth first."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                yield str(key), where
                stack.append((value, (*where, str(key))))
        elif isinstance(node, list):
            stack.extend((value, (*where, str(i))) for i, value in enumerate(node))


def _place(schema: Any, hit: _PatternHit) -> str:
    """``schema.properties.name.pattern``: where the pattern that hit a limit is written."""
    for key, where in _keywords(schema):
        if hit.keyword not in (key, "format"):
            continue
        if key == "pattern" and _at(schema, where).get("pattern") == hit.pattern:
            return ".".join(("schema", *where, "pattern"))
        if key == "patternProperties":
            patterns = _at(schema, where).get("patternProperties")
            if isinstance(patterns, Mapping) and hit.pattern in patterns:
                place = ".".join(("schema", *where, "patternProperties"))
                return f"{place}[{json.dumps(hit.pattern)}]"
    return f"schema ({hit.keyword} {hit.pattern[:40]!r})"


def _at(schema: Any, where: tuple[str, ...]) -> Any:
    node = schema
    for step in where:
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def _regex(pattern: Any, keyword: str) -> UserRegex | None:
    """The bounded pattern; None when it does not compile (the schema check reported it)."""
    try:
        return compile_user_regex(pattern, "", param=keyword)
    except PatternSyntaxError:
        return None
    except PatternLimitError as limit:
        raise _PatternHit(keyword, str(pattern), limit) from None


def _search(pattern: Any, text: str, keyword: str) -> bool:
    regex = _regex(pattern, keyword)
    try:
        return regex is not None and regex.search(text)
    except PatternLimitError as limit:
        raise _PatternHit(keyword, str(pattern), limit) from None


# -- the keywords, as jsonschema's own but bounded -------------------------------------------------


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _search(pattern, instance, "pattern"):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key, "patternProperties"):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _extras(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[str]:
    """The keys neither ``properties`` nor ``patternProperties`` cover."""
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    for key in instance:
        if key in properties:
            continue
        if any(_search(pattern, key, "patternProperties") for pattern in patterns):
            continue
        yield key


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Any) -> Any:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    extras = set(_extras(instance, schema))
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        shown = ", ".join(repr(each) for each in sorted(extras))
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{shown} {verb} not match any of the regexes: {patterns}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            message = f"Additional properties are not allowed ({shown} {verb} unexpected)"
            yield ValidationError(message)


_BOUNDED = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}


@lru_cache(maxsize=16)
def _bounded_class(base: Any) -> Any:
    """``base`` (a draft's validator class) with the pattern keywords bounded."""
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checkers = dict(base.FORMAT_CHECKER.checkers)

    @checker.checks("regex", raises=PatternSyntaxError)
    def is_regex(instance: object) -> bool:
        if isinstance(instance, str):
            _regex_or_error(instance)
        return True

    keywords = {k: v for k, v in _BOUNDED.items() if k in base.VALIDATORS}
    extend: Any = jsonschema.validators.extend  # untyped in the stubs
    return extend(base, keywords, format_checker=checker)


def _regex_or_error(pattern: str) -> None:
    try:
        compile_user_regex(pattern, "", param="format")
    except PatternLimitError as limit:
        raise _PatternHit("format", pattern, limit) from None


def schema_problems(data: Any, schema: Any) -> Problems:
    """The errors of ``data`` under ``schema``; BadSchema for a schema that cannot be used,
    PatternLimitError naming where its pattern is for a pattern that hit a limit."""
    import jsonschema  # slow to import: only when a schema is checked

    if not isinstance(schema, (dict, bool)):
        raise BadSchema(f"schema must be a JSON Schema object for json_schema, got {schema!r}")
    keys = {key for key, _ in _keywords(schema)}
    if "unevaluatedProperties" in keys and "patternProperties" in keys:
        raise BadSchema(
            "schema: unevaluatedProperties cannot be combined with patternProperties here "
            "(jsonschema would match those patterns without a time limit)"
        )
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator_class = _bounded_class(base)
    document: Any = schema  # a bool is a schema too; the stubs only say dict
    try:
        try:
            validator_class.check_schema(document, format_checker=validator_class.FORMAT_CHECKER)
        except jsonschema.SchemaError as exc:
            raise BadSchema(f"schema is not a valid JSON Schema: {exc.message}") from None
        validator = validator_class(document, format_checker=validator_class.FORMAT_CHECKER)
        errors = list(validator.iter_errors(data))
    except _PatternHit as hit:
        raise hit.limit.at(_place(schema, hit)) from None
    errors.sort(key=lambda e: _pointer(e.absolute_path))
    return [_schema_problem(error) for error in errors]


def _schema_problem(error: Any) -> dict[str, Any]:
    """One jsonschema error: field (dotted, as the original), its JSON pointer, the message."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = _missing_property(error)
        if missing is not None:
            path.append(missing)
    return {
        "field": ".".join(path) or "__root__",
        "pointer": _pointer(path),
        "error": error.message,
        "value": error.instance if error.validator != "required" else None,
        "keyword": error.validator,
        "schemaPath": _pointer(error.absolute_schema_path),
    }


def _pointer(parts: Any) -> str:
    """RFC 6901: ``/a/0/b~1c`` for ["a", 0, "b/c"]; the whole document is ``""``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _missing_property(error: Any) -> str | None:
    """jsonschema reports a missing property on its parent; the original named the property."""
    for name in error.validator_value or ():
        absent = isinstance(error.instance, Mapping) and name not in error.instance
        if absent and error.message.startswith(repr(name)):
            return str(name)
    return None
