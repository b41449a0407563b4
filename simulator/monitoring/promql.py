"""The PromQL subset alert rules are written in: tokens, a recursive-descent parser and its AST.

Pure Python (parsed while a scenario loads, so a bad ``expr`` is refused with its location).
The subset, with Prometheus' precedence from loosest to tightest:

* ``or``; ``and``, ``unless`` — set operations matching elements on their whole label set;
* comparisons ``== != > < >= <=`` — between vectors and scalars they *filter* (an element
  stays, with its left-hand value, when the comparison holds); ``bool`` is not supported;
* ``+ -``; ``* /`` — element-wise on equal label sets, or with a scalar on either side;
* unary ``-``; numbers (``0.5``, ``1e-3``); parentheses;
* selectors ``metric{label="v", label!="v", label=~"re", label!~"re"}`` (an instant vector:
  each series' value at the last scrape at or before the evaluation time) and range
  selectors ``metric{...}[5m]`` (durations ``ms s m h d w``, combinable: ``1h30m``);
* functions ``rate``, ``increase``, ``avg_over_time``, ``max_over_time``, ``min_over_time``
  of a range vector, ``histogram_quantile(φ, vector)``, ``abs``, ``clamp_min``;
* aggregations ``sum``, ``avg``, ``max``, ``min``, ``count`` with ``by (labels)`` or
  ``without (labels)`` before or after the parenthesised argument.

What a node evaluates to is fixed at parse time (``scalar``, ``vector`` or ``range``), so a
misplaced range (``rate(x)``, ``x[5m] > 1``) is refused here, with the column it starts at.
The evaluation is :mod:`simulator.monitoring.evaluate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Union

__all__ = ["AGGREGATIONS", "FUNCTIONS", "PromQLError", "format_duration", "metric_names", "parse",
           "parse_duration"]

Type = Literal["scalar", "vector", "range"]

AGGREGATIONS = ("sum", "avg", "max", "min", "count")
FUNCTIONS = {  # name: (argument types, result type)
    "rate": (("range",), "vector"),
    "increase": (("range",), "vector"),
    "avg_over_time": (("range",), "vector"),
    "max_over_time": (("range",), "vector"),
    "min_over_time": (("range",), "vector"),
    "histogram_quantile": (("scalar", "vector"), "vector"),
    "abs": (("vector",), "vector"),
    "clamp_min": (("vector", "scalar"), "vector"),
}
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h|d|w|y))+")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


class PromQLError(ValueError):
    """A rule expression that is not in the subset: ``column`` (1-based) is where the problem starts."""

    def __init__(self, message: str, column: int, text: str):
        self.column, self.text = column, text
        super().__init__(f"{message} at column {column} of `{text}`")


def parse_duration(text: str) -> float:
    """Seconds of a Prometheus duration (``5m``, ``1h30m``, ``500ms``); ValueError when it is not one."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text))


def format_duration(seconds: float) -> str:
    """*seconds* as a Prometheus duration: ``3600`` → ``1h``, ``90`` → ``1m30s``, ``0.5`` → ``500ms``."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        n, ms = divmod(ms, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


# -- the AST -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Number:
    value: float
    type: Type = "scalar"


@dataclass(frozen=True)
class Matcher:
    label: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def matches(self, actual: str) -> bool:
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None  # PromQL regexes are anchored
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...]
    range: float | None = None  # seconds of a range selector, None for an instant one

    @property
    def type(self) -> Type:
        return "vector" if self.range is None else "range"


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple["Node", ...]

    @property
    def type(self) -> Type:
        return FUNCTIONS[self.function][1]  # type: ignore[return-value]


@dataclass(frozen=True)
class Aggregate:
    op: str
    arg: "Node"
    by: tuple[str, ...] | None = None
    without: tuple[str, ...] | None = None
    type: Type = "vector"


@dataclass(frozen=True)
class Unary:
    arg: "Node"

    @property
    def type(self) -> Type:
        return self.arg.type


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Node"
    right: "Node"

    @property
    def type(self) -> Type:
        return "scalar" if self.left.type == self.right.type == "scalar" else "vector"


Node = Union[Number, Selector, Call, Aggregate, Unary, Binary]


def metric_names(node: Node) -> set[str]:
    """The metric names *node* selects."""
    if isinstance(node, Selector):
        return {node.metric}
    children = {Call: lambda n: n.args, Aggregate: lambda n: (n.arg,), Unary: lambda n: (n.arg,),
                Binary: lambda n: (n.left, n.right)}.get(type(node), lambda n: ())(node)
    return set().union(*(metric_names(c) for c in children))


def selectors(node: Node) -> list[Selector]:
    """Every selector in *node*, left to right."""
    if isinstance(node, Selector):
        return [node]
    children = {Call: lambda n: n.args, Aggregate: lambda n: (n.arg,), Unary: lambda n: (n.arg,),
                Binary: lambda n: (n.left, n.right)}.get(type(node), lambda n: ())(node)
    return [s for c in children for s in selectors(c)]


# -- tokens ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_]))
  | (?P<duration>\[[^\]]*\])
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|>=|<=|[-+*/(){},=<>])
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    out, at = [], 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            raise PromQLError(f"unexpected character {text[at]!r}", at + 1, text)
        if m.lastgroup != "space":
            out.append(_Token(m.lastgroup, m.group(), at + 1))
        at = m.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


# -- the parser --------------------------------------------------------------------------------------------

_COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")
_KEYWORDS = {"and", "or", "unless", "by", "without", "bool", "on", "ignoring", "offset"}


class _Parser:
    def __init__(self, text: str):
        self.text, self.tokens, self.at = text, _tokens(text), 0

    def error(self, message: str, token: _Token | None = None) -> PromQLError:
        token = token or self.peek
        return PromQLError(message, token.column, self.text)

    @property
    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, *texts: str) -> _Token | None:
        token = self.peek
        if token.kind in ("op", "ident") and token.text in texts:
            return self.take()
        return None

    def expect(self, text: str, what: str) -> _Token:
        token = self.accept(text)
        if token is None:
            found = self.peek.text or "the end"
            raise self.error(f"expected {what}, found {found!r}")
        return token

    def instant(self, node: Node, token: _Token, where: str) -> Node:
        if node.type == "range":
            raise self.error(f"a range vector cannot be {where} (only rate, increase and *_over_time take "
                             "one)", token)
        return node

    # expr := or ; or := and ('or' and)* ; and := cmp (('and'|'unless') cmp)*
    def expression(self) -> Node:
        return self.binary(0)

    _LEVELS = (("or",), ("and", "unless"), _COMPARISONS, ("+", "-"), ("*", "/"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        start = self.peek
        left = self.binary(level + 1)
        while True:
            op = self.accept(*self._LEVELS[level])
            if op is None:
                return left
            if self.peek.text == "bool":
                raise self.error("`bool` comparisons are not in the subset (a comparison filters)")
            if self.peek.text in ("on", "ignoring"):
                raise self.error("vector matching with on()/ignoring() is not in the subset (elements match "
                                 "on their whole label set)")
            right_start = self.peek
            right = self.binary(level + 1)
            self.instant(left, start, f"an operand of {op.text!r}")
            self.instant(right, right_start, f"an operand of {op.text!r}")
            if level < 2 and "scalar" in (left.type, right.type):
                raise self.error(f"{op.text!r} needs vectors on both sides", op)
            left = Binary(op.text, left, right)

    def unary(self) -> Node:
        if self.accept("-"):
            start = self.peek
            return Unary(self.instant(self.unary(), start, "negated"))
        if self.accept("+"):
            return self.unary()
        return self.primary()

    def primary(self) -> Node:
        token = self.peek
        if token.kind == "number":
            self.take()
            return Number(float(token.text))
        if self.accept("("):
            node = self.expression()
            self.expect(")", "')'")
            return self.no_range(node)
        if token.kind == "ident" and token.text not in _KEYWORDS:
            self.take()
            if token.text in AGGREGATIONS:
                return self.aggregate(token)
            if self.peek.text == "(":
                return self.call(token)
            return self.selector(token)
        raise self.error(f"expected a number, a metric, a function or '(', found {token.text or 'the end'!r}")

    def no_range(self, node: Node) -> Node:
        if self.peek.kind == "duration":
            raise self.error("a range [..] applies to a metric selector only (subqueries are not in the subset)")
        return node

    def labels(self) -> tuple[str, ...]:
        self.expect("(", "'(' and label names")
        names = []
        while not self.accept(")"):
            token = self.take()
            if token.kind != "ident":
                raise self.error(f"expected a label name, found {token.text or 'the end'!r}", token)
            names.append(token.text)
            if not self.accept(","):
                self.expect(")", "',' or ')'")
                break
        return tuple(names)

    def grouping(self) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        if self.accept("by"):
            return self.labels(), None
        if self.accept("without"):
            return None, self.labels()
        return None, None

    def aggregate(self, name: _Token) -> Node:
        by, without = self.grouping()
        self.expect("(", f"'(' after {name.text}")
        start = self.peek
        arg = self.instant(self.expression(), start, f"aggregated by {name.text}")
        self.expect(")", "')'")
        if by is None and without is None:
            by, without = self.grouping()
        if arg.type == "scalar":
            raise self.error(f"{name.text} aggregates a vector, not a number", start)
        return Aggregate(name.text, arg, by, without)

    def call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            raise self.error(f"unknown function {name.text!r}; expected one of "
                             f"{', '.join([*FUNCTIONS, *AGGREGATIONS])}", name)
        wanted, _ = FUNCTIONS[name.text]
        self.expect("(", "'('")
        args = []
        while True:
            start = self.peek
            arg = self.expression()
            if len(args) < len(wanted) and arg.type != wanted[len(args)]:
                raise self.error(f"{name.text}() argument {len(args) + 1} must be a {wanted[len(args)]} "
                                 f"{'vector (e.g. x[5m])' if wanted[len(args)] == 'range' else ''}"
                                 .rstrip() + f", found a {arg.type}", start)
            args.append(arg)
            if not self.accept(","):
                break
        self.expect(")", "')'")
        if len(args) != len(wanted):
            raise self.error(f"{name.text}() takes {len(wanted)} argument(s), found {len(args)}", name)
        return Call(name.text, tuple(args))

    def selector(self, name: _Token) -> Node:
        matchers = []
        if self.accept("{"):
            while not self.accept("}"):
                label = self.take()
                if label.kind != "ident":
                    raise self.error(f"expected a label name, found {label.text or 'the end'!r}", label)
                op = self.take()
                if op.text not in ("=", "!=", "=~", "!~"):
                    raise self.error(f"expected a matcher (=, !=, =~, !~) after {label.text}, found "
                                     f"{op.text or 'the end'!r}", op)
                value = self.take()
                if value.kind != "string":
                    raise self.error(f"expected a quoted label value, found {value.text or 'the end'!r}", value)
                text = re.sub(r"\\(.)", r"\1", value.text[1:-1])
                if op.text in ("=~", "!~"):
                    try:
                        re.compile(text)
                    except re.error as exc:
                        raise self.error(f"bad regular expression {text!r}: {exc}", value) from None
                matchers.append(Matcher(label.text, op.text, text))  # type: ignore[arg-type]
                if not self.accept(","):
                    self.expect("}", "',' or '}'")
                    break
        seconds = None
        if self.peek.kind == "duration":
            token = self.take()
            try:
                seconds = parse_duration(token.text[1:-1].strip())
            except ValueError as exc:
                raise self.error(str(exc), token) from None
            if seconds <= 0:
                raise self.error("a range must be longer than 0s", token)
        if self.peek.text == "offset":
            raise self.error("`offset` is not in the subset")
        return Selector(name.text, tuple(matchers), seconds)


def parse(text: str) -> Node:
    """The AST of the PromQL-subset expression *text* (module docstring); :class:`PromQLError` otherwise."""
    parser = _Parser(text)
    if parser.peek.kind == "end":
        raise parser.error("empty expression; expected e.g. rate(sdsim_client_requests_total[5m]) > 1")
    node = parser.expression()
    if parser.peek.kind != "end":
        raise parser.error(f"unexpected {parser.peek.text!r} after a complete expression")
    return node
