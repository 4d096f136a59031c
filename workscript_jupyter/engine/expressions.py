"""The restricted expression language of ``switch``, ``validateData`` and ``calculateField``.

The original evaluated JavaScript. Here an expression is parsed with ``ast`` and only a whitelist
of node types is accepted; the tree is then compiled into plain Python closures, so nothing ever
reaches ``eval`` or ``exec``. See docs/expressions.md for the language.

JavaScript spellings that existing workflows use are accepted outside string literals:
``&&``, ``||``, ``!``, ``===``, ``!==``, ``true``, ``false``, ``null``, and ``.length``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Final

from ..errors import WorkscriptError
from .expression_syntax import to_python
from .state import to_text
from .values import js_compare, js_truthy, normalize_number, strict_equal

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "compile_expression", "evaluate"]

MAX_LENGTH: Final = 2000
MAX_NODES: Final = 400
MAX_TEXT_RESULT: Final = 100_000
MAX_EXPONENT: Final = 1000

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]


class ExpressionError(WorkscriptError, ValueError):
    code = "EXPRESSION_ERROR"


def _round(value: Any, digits: Any = 0) -> Any:
    """Halves round away from zero (2.5 → 3), as people and spreadsheets expect."""
    number, places = _num(value, "round"), int(_num(digits, "round"))
    exact = Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return normalize_number(float(exact))


def _js_round(value: Any) -> Any:
    """JavaScript's Math.round: halves go up (-2.5 → -2)."""
    return math.floor(_num(value, "Math.round") + 0.5)


def _num(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{where}() needs a number, got {to_text(value) or 'null'!r}")
    return value


def _length(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise ExpressionError(f"len() needs a text, list or object, got {type(value).__name__}")


def _text(fn: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: fn(to_text(value))


FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "len": _length,
    "min": lambda *xs: min(xs[0] if len(xs) == 1 and isinstance(xs[0], list) else xs),
    "max": lambda *xs: max(xs[0] if len(xs) == 1 and isinstance(xs[0], list) else xs),
    "sum": lambda xs: normalize_number(sum(_num(x, "sum") for x in xs)),
    "round": _round,
    "abs": lambda x: abs(_num(x, "abs")),
    "floor": lambda x: math.floor(_num(x, "floor")),
    "ceil": lambda x: math.ceil(_num(x, "ceil")),
    "sqrt": lambda x: normalize_number(math.sqrt(_num(x, "sqrt"))),
    "pow": lambda x, y: _arithmetic("**", x, y, "pow()"),
    "lower": _text(str.lower),
    "upper": _text(str.upper),
    "trim": _text(str.strip),
    "str": to_text,
    "int": lambda x: int(float(x)) if isinstance(x, str) else int(_num(x, "int")),
    "float": lambda x: normalize_number(float(x) if isinstance(x, str) else _num(x, "float")),
    "bool": js_truthy,
    "contains": lambda haystack, needle: needle in haystack,
    "startswith": lambda text, prefix: to_text(text).startswith(to_text(prefix)),
    "endswith": lambda text, suffix: to_text(text).endswith(to_text(suffix)),
}
MATH: Final[dict[str, Callable[..., Any]]] = {  # JavaScript's Math.x(...), for old formulas
    "round": _js_round,
    "floor": FUNCTIONS["floor"],
    "ceil": FUNCTIONS["ceil"],
    "abs": FUNCTIONS["abs"],
    "min": FUNCTIONS["min"],
    "max": FUNCTIONS["max"],
    "sqrt": FUNCTIONS["sqrt"],
    "pow": FUNCTIONS["pow"],
}
FIELD: Final = "field"  # {a.b} compiles to field("a.b"): a dotted path into the variables

_CONSTANTS: Final = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
    "undefined": None,
}


class Expression:
    """A compiled expression; ``evaluate(variables)`` may be called any number of times."""

    __slots__ = ("_run", "text")

    def __init__(self, text: str, run: Compiled) -> None:
        self.text = text
        self._run = run

    def evaluate(self, variables: Env | None = None) -> Any:
        try:
            return self._run(variables or {})
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, IndexError, KeyError) as exc:
            raise ExpressionError(f"{self.text!r}: {exc}") from None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def evaluate(text: str, variables: Env | None = None) -> Any:
    """Compile (cached) and evaluate ``text`` against ``variables``."""
    return compile_expression(text).evaluate(variables)


@lru_cache(maxsize=512)
def compile_expression(text: str) -> Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression cannot be empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    source = to_python(text).strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = f" near column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"{text!r} is not a valid expression{column}: {exc.msg}") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ExpressionError(f"{text!r} is too complex ({count} parts; the limit is {MAX_NODES})")
    return Expression(text, _Compiler(text).compile(tree.body))


_ARITHMETIC: Final[dict[type, str]] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_OPERATORS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
_COMPARE: Final[dict[type, str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        column = getattr(node, "col_offset", None)
        where = f" (at column {column + 1})" if column is not None else ""
        return ExpressionError(f"{self.text!r}: {message}{where}")

    def compile(self, node: ast.expr) -> Compiled:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, f"{_describe(node)} is not allowed in an expression")
        compiled: Compiled = method(node)
        return compiled

    def _Constant(self, node: ast.Constant) -> Compiled:
        value = node.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            raise self.fail(node, f"literal {value!r} is not allowed")
        return lambda env: value

    def _Name(self, node: ast.Name) -> Compiled:
        name = node.id
        if name.startswith("_"):
            raise self.fail(node, f"names starting with _ are not allowed ({name!r})")
        if name in _CONSTANTS:
            constant = _CONSTANTS[name]
            return lambda env: constant
        return lambda env: env.get(name)

    def _Attribute(self, node: ast.Attribute) -> Compiled:
        attr = node.attr
        if attr.startswith("_"):
            raise self.fail(node, f"attributes starting with _ are not allowed ({attr!r})")
        base = self.compile(node.value)

        def get(env: Env) -> Any:
            value = base(env)
            if isinstance(value, Mapping):
                return value.get(attr)
            if attr == "length" and isinstance(value, (str, list)):
                return len(value)
            if value is None:
                return None
            raise ExpressionError(f"{self.text!r}: a {type(value).__name__} has no field {attr!r}")

        return get

    def _Subscript(self, node: ast.Subscript) -> Compiled:
        if isinstance(node.slice, ast.Slice):
            raise self.fail(node, "slices are not allowed")
        base, key = self.compile(node.value), self.compile(node.slice)

        def get(env: Env) -> Any:
            value, index = base(env), key(env)
            if isinstance(value, Mapping):
                return value.get(to_text(index))
            if isinstance(value, (list, str)) and isinstance(index, int):
                return value[index] if -len(value) <= index < len(value) else None
            return None

        return get

    def _List(self, node: ast.List) -> Compiled:
        items = [self.compile(item) for item in node.elts]
        return lambda env: [item(env) for item in items]

    _Tuple = _List

    def _Dict(self, node: ast.Dict) -> Compiled:
        pairs = []
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                raise self.fail(node, "** unpacking is not allowed")
            pairs.append((self.compile(key), self.compile(value)))
        return lambda env: {to_text(k(env)): v(env) for k, v in pairs}

    def _UnaryOp(self, node: ast.UnaryOp) -> Compiled:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: not js_truthy(operand(env))
        if isinstance(node.op, ast.USub):
            return lambda env: -_number(operand(env), "-", self.text)
        if isinstance(node.op, ast.UAdd):
            return lambda env: _number(operand(env), "+", self.text)
        raise self.fail(node, "the ~ operator is not allowed")

    def _BoolOp(self, node: ast.BoolOp) -> Compiled:
        parts = [self.compile(value) for value in node.values]
        if isinstance(node.op, ast.And):

            def all_of(env: Env) -> Any:
                value = None
                for part in parts:
                    value = part(env)
                    if not js_truthy(value):
                        return value
                return value

            return all_of

        def any_of(env: Env) -> Any:
            value = None
            for part in parts:
                value = part(env)
                if js_truthy(value):
                    return value
            return value

        return any_of

    def _IfExp(self, node: ast.IfExp) -> Compiled:
        test, yes, no = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda env: yes(env) if js_truthy(test(env)) else no(env)

    def _BinOp(self, node: ast.BinOp) -> Compiled:
        symbol = _ARITHMETIC.get(type(node.op))
        if symbol is None:
            raise self.fail(node, "bitwise operators are not allowed")
        left, right, text = self.compile(node.left), self.compile(node.right), self.text
        return lambda env: _arithmetic(symbol, left(env), right(env), text)

    def _Compare(self, node: ast.Compare) -> Compiled:
        symbols = []
        for op in node.ops:
            symbol = _COMPARE.get(type(op))
            if symbol is None:
                raise self.fail(node, "'is' is not allowed; use == or !=")
            symbols.append(symbol)
        operands = [self.compile(node.left)] + [self.compile(c) for c in node.comparators]

        def compare(env: Env) -> bool:
            left = operands[0](env)
            for symbol, operand in zip(symbols, operands[1:], strict=True):
                right = operand(env)
                if not _compare(symbol, left, right):
                    return False
                left = right
            return True

        return compare

    def _Call(self, node: ast.Call) -> Compiled:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "Math"
            and func.attr in MATH
        ):
            return self._call(node, MATH[func.attr], f"Math.{func.attr}")
        if isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "Math":
            known = ", ".join(f"Math.{name}" for name in MATH)
            raise self.fail(node, f"Math.{func.attr} is not available; there are {known}")
        if not isinstance(func, ast.Name):
            raise self.fail(node, "method calls are not allowed; use a function such as lower(x)")
        name = func.id
        if name not in FUNCTIONS and name != FIELD:
            allowed = ", ".join(sorted([*FUNCTIONS, FIELD]))
            raise self.fail(node, f"unknown function {name!r}; allowed: {allowed}")
        if name == FIELD:
            return self._call(node, _field, name, with_env=True)
        return self._call(node, FUNCTIONS[name], name)

    def _call(
        self, node: ast.Call, function: Callable[..., Any], name: str, *, with_env: bool = False
    ) -> Compiled:
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{name}() takes plain positional arguments")
        args = [self.compile(arg) for arg in node.args]
        if with_env:
            return lambda env: function(env, *(arg(env) for arg in args))
        return lambda env: function(*(arg(env) for arg in args))


def _field(env: Env, path: Any) -> Any:
    value: Any = env
    for part in to_text(path).split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def _number(value: Any, operator: str, text: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = "null" if value is None else repr(value)
        raise ExpressionError(f"{text!r}: {operator} needs numbers, got {shown}")
    return value


def _arithmetic(symbol: str, left: Any, right: Any, text: str) -> Any:
    if symbol == "+" and (isinstance(left, str) or isinstance(right, str)):
        joined = to_text(left) + to_text(right)  # JavaScript concatenates
        if len(joined) > MAX_TEXT_RESULT:
            raise ExpressionError(f"{text!r}: the text grew past {MAX_TEXT_RESULT} characters")
        return joined
    if symbol == "+" and isinstance(left, list) and isinstance(right, list):
        return left + right
    a, b = _number(left, symbol, text), _number(right, symbol, text)
    if symbol in ("/", "//", "%") and b == 0:
        raise ExpressionError(f"{text!r}: division by zero")
    if symbol == "**" and (abs(b) > MAX_EXPONENT or abs(a) > 1e100):
        raise ExpressionError(f"{text!r}: the power is too large")
    result = _OPERATORS[symbol](a, b)
    return normalize_number(result) if isinstance(result, float) else result


def _compare(symbol: str, left: Any, right: Any) -> bool:
    if symbol == "==":
        return strict_equal(left, right)
    if symbol == "!=":
        return not strict_equal(left, right)
    if symbol in ("in", "not in"):
        if isinstance(right, str):
            found = to_text(left) in right
        elif isinstance(right, (list, Mapping)):
            found = left in right
        else:
            found = False
        return found if symbol == "in" else not found
    return js_compare(left, right, symbol)


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "a lambda",
        "ListComp": "a comprehension",
        "SetComp": "a comprehension",
        "DictComp": "a comprehension",
        "GeneratorExp": "a generator",
        "JoinedStr": "an f-string",
        "NamedExpr": "an assignment (:=)",
        "Await": "await",
        "Yield": "yield",
        "Set": "a set",
        "Starred": "* unpacking",
    }
    return names.get(type(node).__name__, type(node).__name__)
