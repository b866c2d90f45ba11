"""Pendo's C-like filter expressions: tokenizer, recursive-descent parser, evaluator.

Grammar, loosest binding first:

    expression := and ("||" and)*
    and        := comparison ("&&" comparison)*
    comparison := unary (("==" | "!=" | ">" | ">=" | "<" | "<=") unary)?
    unary      := ("!" | "-") unary | primary
    primary    := number | string | "true" | "false" | "null" | path | "(" expression ")"

A path is a dotted field reference (``metadata.auto.lastupdated``); a path that does
not resolve evaluates to null. Ordering comparisons between values of different kinds
are false; ``==``/``!=`` compare kind and value. With ``null_compares_false`` (the
``nulls_last`` variant) every comparison with a null operand is false, ``==`` included.
"""
from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

Evaluator = Callable[[Mapping[str, Any]], Any]

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_SYMBOLS = ("==", "!=", ">=", "<=", "&&", "||", ">", "<", "!", "-", "(", ")")
_KEYWORDS = {"true": True, "false": False, "null": None}
_COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")


class ExpressionError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(f"{message} at position {position}")
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "literal" (true/false/null), "name", "symbol" or "end"
    value: Any
    position: int


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def resolve_path(row: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(row, Mapping):
            return None
        row = row.get(part)
    return row


def split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "")


def values_equal(left: Any, right: Any) -> bool:
    return kind_of(left) == kind_of(right) and left == right


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def ordered_compare(left: Any, right: Any) -> bool:
        kind = kind_of(left)
        return kind == kind_of(right) and kind in ("number", "string", "boolean") and compare(left, right)

    return ordered_compare


_BINARY_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": values_equal,
    "!=": lambda left, right: not values_equal(left, right),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char == '"':
            position = _read_string(text, position, tokens)
        elif char in "0123456789":
            position = _read_number(text, position, tokens)
        elif char.isalpha() or char in "_$":
            position = _read_name(text, position, tokens)
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, position)), None)
            if symbol is None:
                hint = {"=": " (use ==)", "&": " (use &&)", "|": " (use ||)"}.get(char, "")
                raise ExpressionError(f"unexpected character {char!r}{hint}", position)
            tokens.append(Token("symbol", symbol, position))
            position += len(symbol)
    tokens.append(Token("end", None, len(text)))
    return tokens


def _read_string(text: str, start: int, tokens: list[Token]) -> int:
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
        elif char == '"':
            literal = text[start : position + 1]
            try:
                # JSON string syntax is exactly what Pendo accepts, surrogate pairs included.
                value = json.loads(literal)
            except json.JSONDecodeError as error:
                raise ExpressionError(f"invalid string literal {literal!r}: {error.msg}", start + error.pos) from None
            tokens.append(Token("string", value, start))
            return position + 1
        else:
            position += 1
    raise ExpressionError("unterminated string literal", start)


def _read_number(text: str, start: int, tokens: list[Token]) -> int:
    match = _NUMBER.match(text, start)
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "_$."):
        raise ExpressionError(f"malformed number {text[start:end + 1]!r}", start)
    literal = match.group()
    value = int(literal) if match.group(1) is None and match.group(2) is None else float(literal)
    tokens.append(Token("number", value, start))
    return end


def _read_name(text: str, start: int, tokens: list[Token]) -> int:
    position = start
    while position < len(text) and (text[position].isalnum() or text[position] in "_$."):
        position += 1
    name = text[start:position]
    if name in _KEYWORDS:
        tokens.append(Token("literal", _KEYWORDS[name], start))
    elif any(not part for part in name.split(".")):
        raise ExpressionError(f"malformed field path {name!r}", start)
    else:
        tokens.append(Token("name", name, start))
    return position


def _null_safe(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda left, right: left is not None and right is not None and compare(left, right)


def first_alternative_or_grouping(text: str) -> str | None:
    """What a Pendo without ``||`` and grouping parentheses refuses in ``text`` (string
    literals aside), described for an error message; None if nothing."""
    for token in tokenize(text):
        if token.kind == "symbol" and token.value == "||":
            return f'operator "||" at position {token.position} is not supported'
        if token.kind == "symbol" and token.value in ("(", ")"):
            return f'parenthesis "{token.value}" at position {token.position} is not supported'
    return None


class _Parser:
    def __init__(self, tokens: list[Token], null_compares_false: bool = False):
        self._tokens = tokens
        self._index = 0
        self._null_compares_false = null_compares_false

    @property
    def _current(self) -> Token:
        return self._tokens[self._index]

    def _accept(self, *symbols: str) -> Token | None:
        token = self._current
        if token.kind == "symbol" and token.value in symbols:
            self._index += 1
            return token
        return None

    def parse(self) -> Evaluator:
        if self._current.kind == "end":
            raise ExpressionError("empty filter expression", 0)
        evaluator = self._or()
        if self._current.kind != "end":
            raise ExpressionError(f"unexpected {_describe(self._current)}", self._current.position)
        return evaluator

    def _or(self) -> Evaluator:
        evaluator = self._and()
        while self._accept("||"):
            left, right = evaluator, self._and()
            evaluator = lambda row, left=left, right=right: truthy(left(row)) or truthy(right(row))
        return evaluator

    def _and(self) -> Evaluator:
        evaluator = self._comparison()
        while self._accept("&&"):
            left, right = evaluator, self._comparison()
            evaluator = lambda row, left=left, right=right: truthy(left(row)) and truthy(right(row))
        return evaluator

    def _comparison(self) -> Evaluator:
        left = self._unary()
        token = self._accept(*_COMPARISONS)
        if token is None:
            return left
        right = self._unary()
        if self._current.kind == "symbol" and self._current.value in _COMPARISONS:
            raise ExpressionError("comparisons cannot be chained; combine them with && or ||", self._current.position)
        compare = _BINARY_COMPARISONS[token.value]
        if self._null_compares_false:
            compare = _null_safe(compare)
        return lambda row: compare(left(row), right(row))

    def _unary(self) -> Evaluator:
        if self._accept("!"):
            operand = self._unary()
            return lambda row: not truthy(operand(row))
        if self._accept("-"):
            operand = self._unary()
            return lambda row: _negate(operand(row))
        return self._primary()

    def _primary(self) -> Evaluator:
        token = self._current
        if self._accept("("):
            evaluator = self._or()
            if not self._accept(")"):
                raise ExpressionError(f"expected ')' but found {_describe(self._current)}", self._current.position)
            return evaluator
        if token.kind in ("number", "string", "literal"):
            self._index += 1
            value = token.value
            return lambda row: value
        if token.kind == "name":
            self._index += 1
            if self._current.kind == "symbol" and self._current.value == "(":
                raise ExpressionError(f"function {token.value}() is not supported in filters", token.position)
            parts = split_path(token.value)
            return lambda row: resolve_path(row, parts)
        raise ExpressionError(f"expected a value but found {_describe(token)}", token.position)


def _negate(value: Any) -> Any:
    return -value if kind_of(value) == "number" else None


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "end of expression"
    return f"{token.kind} {token.value!r}"


def compile_expression(text: str, *, null_compares_false: bool = False) -> Evaluator:
    """Parse ``text`` once; the result evaluates the expression against a row."""
    return _Parser(tokenize(text), null_compares_false).parse()


def compile_filter(text: str, *, null_compares_false: bool = False) -> Callable[[Mapping[str, Any]], bool]:
    evaluate = compile_expression(text, null_compares_false=null_compares_false)
    return lambda row: truthy(evaluate(row))
