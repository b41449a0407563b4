"""Probability distributions of durations, and key-popularity laws, as pure data.

A distribution is written either inline, ``exp(3ms)``, ``lognormal(median=4ms, p99=40ms)``,
or as a mapping, ``{dist: exp, mean: 3ms}``; a bare duration (``5ms``) means ``const``.
All values are seconds. Each model knows its ``mean()`` and squared coefficient of
variation ``scv()`` so that theory can be compared with simulation. Sampling lives in
:mod:`simulator.core.sampling`; nothing here draws random numbers.

Supported: ``const``, ``exp``, ``uniform``, ``normal`` (truncated at 0), ``lognormal``
(by ``median`` and ``p99`` or by ``mu``/``sigma`` of the log), ``erlang``, ``gamma``,
``pareto``, ``hyperexp`` (two-phase hyperexponential) and ``empirical``.
Key popularity (which key a request touches): ``uniform(n=…)`` and ``zipf(s=…, n=…)``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, ValidationInfo, model_validator

from ..units import bare_number, parse_duration
from ..errors import unknown_name
from .types import TAGGED_UNIONS, Duration, PositiveDuration, units_required

Z99 = 2.3263478740408408  # standard normal 99th percentile



def _square(x: float) -> float:
    """``x * x``, ``inf`` past the largest float (``x ** 2`` raises OverflowError there)."""
    return x * x


def _exp(x: float) -> float:
    """``exp(x)``, ``inf`` past the largest float instead of OverflowError (``sd: 1e300ms``)."""
    return math.exp(x) if x < 709.78 else math.inf


def _expm1(x: float) -> float:
    return math.expm1(x) if x < 709.78 else math.inf

class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    positional: ClassVar[tuple[str, ...]] = ()

    def mean(self) -> float:
        raise NotImplementedError

    def scv(self) -> float:
        """Squared coefficient of variation, Var/mean²."""
        raise NotImplementedError


class Const(_Dist):
    """Always the same value."""

    dist: Literal["const"] = "const"
    value: Duration
    positional: ClassVar = ("value",)

    def mean(self) -> float:
        return self.value

    def scv(self) -> float:
        return 0.0


class Exp(_Dist):
    """Exponential, by ``mean`` or by ``rate`` (per second)."""

    dist: Literal["exp"] = "exp"
    mean_: PositiveDuration | None = Field(None, alias="mean")
    rate: Annotated[float, Field(gt=0)] | None = None
    positional: ClassVar = ("mean",)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.mean_ is None) == (self.rate is None):
            raise ValueError("exp needs exactly one of mean or rate")
        return self

    def mean(self) -> float:
        return self.mean_ if self.mean_ is not None else 1.0 / self.rate

    def scv(self) -> float:
        return 1.0


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"] = "uniform"
    low: Duration
    high: Duration
    positional: ClassVar = ("low", "high")

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"uniform needs low <= high (got low={self.low:g}s, high={self.high:g}s)")
        return self

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def scv(self) -> float:
        m = self.mean()
        return _square((self.high - self.low) / m) / 12 if m else 0.0


class Normal(_Dist):
    """Normal with ``mean`` and ``sd``, truncated at 0 (negative draws are redrawn)."""

    dist: Literal["normal"] = "normal"
    mean_: PositiveDuration = Field(alias="mean")
    sd: Duration
    positional: ClassVar = ("mean", "sd")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def _truncated(self) -> tuple[float, float]:
        """(mean, variance / sd²) of the normal truncated at 0."""
        if self.sd == 0:
            return self.mean_, 0.0
        a = self.mean_ / self.sd
        phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        big_phi = 0.5 * (1 + math.erf(a / math.sqrt(2)))
        lam = phi / big_phi
        return self.mean_ + self.sd * lam, 1 - lam * (lam + a)

    def mean(self) -> float:
        return self._truncated()[0]

    def scv(self) -> float:
        m, shape = self._truncated()
        return _square(self.sd / m) * shape  # scale-free: no overflow at sd = 1e300


class LogNormal(_Dist):
    """Log-normal, by ``median`` and ``p99`` (what dashboards show) or by ``mu``/``sigma``."""

    dist: Literal["lognormal"] = "lognormal"
    median: PositiveDuration | None = None
    p99: PositiveDuration | None = None
    mu: float | None = None
    sigma: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _either(self):
        by_quantiles = self.median is not None and self.p99 is not None
        by_params = self.mu is not None and self.sigma is not None
        if by_quantiles == by_params or (by_quantiles and (self.mu is not None or self.sigma is not None)):
            raise ValueError("lognormal needs either median and p99, or mu and sigma")
        if by_quantiles and self.p99 < self.median:
            raise ValueError(f"lognormal needs p99 >= median (got median={self.median:g}s, p99={self.p99:g}s)")
        return self

    def log_params(self) -> tuple[float, float]:
        if self.mu is not None:
            return self.mu, self.sigma
        return math.log(self.median), math.log(self.p99 / self.median) / Z99

    def mean(self) -> float:
        mu, sigma = self.log_params()
        return _exp(mu + _square(sigma) / 2)

    def scv(self) -> float:
        return _expm1(_square(self.log_params()[1]))


class Erlang(_Dist):
    """Erlang-k: the sum of ``k`` exponential phases with total ``mean``."""

    dist: Literal["erlang"] = "erlang"
    k: Annotated[int, Field(ge=1)]
    mean_: PositiveDuration = Field(alias="mean")
    positional: ClassVar = ("k", "mean")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def mean(self) -> float:
        return self.mean_

    def scv(self) -> float:
        return 1.0 / self.k


class Gamma(_Dist):
    """Gamma with ``shape`` and either ``mean`` or ``scale``."""

    dist: Literal["gamma"] = "gamma"
    shape: Annotated[float, Field(gt=0)]
    mean_: PositiveDuration | None = Field(None, alias="mean")
    scale: PositiveDuration | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.mean_ is None) == (self.scale is None):
            raise ValueError("gamma needs shape and exactly one of mean or scale")
        return self

    def theta(self) -> float:
        return self.scale if self.scale is not None else self.mean_ / self.shape

    def mean(self) -> float:
        return self.shape * self.theta()

    def scv(self) -> float:
        return 1.0 / self.shape


class Pareto(_Dist):
    """Pareto (type I) with tail index ``alpha`` and minimum ``xm``: heavy-tailed work."""

    dist: Literal["pareto"] = "pareto"
    alpha: Annotated[float, Field(gt=0)]
    xm: PositiveDuration

    def mean(self) -> float:
        return math.inf if self.alpha <= 1 else self.alpha * self.xm / (self.alpha - 1)

    def scv(self) -> float:
        if self.alpha <= 2:
            return math.inf
        return 1.0 / (self.alpha * (self.alpha - 2))


class HyperExp(_Dist):
    """Two-phase hyperexponential: Exp(mean1) with probability ``p``, else Exp(mean2). Bursty service."""

    dist: Literal["hyperexp"] = "hyperexp"
    p: Annotated[float, Field(ge=0, le=1)]
    mean1: PositiveDuration
    mean2: PositiveDuration

    def mean(self) -> float:
        return self.p * self.mean1 + (1 - self.p) * self.mean2

    def scv(self) -> float:
        second = 2 * (self.p * _square(self.mean1) + (1 - self.p) * _square(self.mean2))
        m = self.mean()
        return second / _square(m) - 1


class Empirical(_Dist):
    """Each draw picks one of ``values`` uniformly (e.g. measured latencies)."""

    dist: Literal["empirical"] = "empirical"
    values: Annotated[list[Duration], Field(min_length=1)]
    positional: ClassVar = ("values",)

    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    def scv(self) -> float:
        m = self.mean()
        var = sum(_square(v - m) for v in self.values) / len(self.values)
        return var / _square(m) if m else 0.0


DIST_TYPES: dict[str, type[_Dist]] = {
    "const": Const, "exp": Exp, "uniform": Uniform, "normal": Normal, "lognormal": LogNormal,
    "erlang": Erlang, "gamma": Gamma, "pareto": Pareto, "hyperexp": HyperExp, "empirical": Empirical,
}
ALIASES = {"exponential": "exp", "constant": "const", "deterministic": "const", "det": "const"}


class UniformKeys(BaseModel):
    """Every key in ``0..n-1`` equally likely (at most 10¹⁸ keys: drawn as 64-bit integers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dist: Literal["uniform"] = "uniform"
    n: Annotated[int, Field(ge=1, le=10 ** 18)]
    positional: ClassVar = ("n",)


class ZipfKeys(BaseModel):
    """Key ``i`` (0-based rank) has probability proportional to ``1/(i+1)^s`` over ``n`` keys
    (at most 10,000,000: sampling holds a table of ``n`` probabilities, 80 MB at the limit)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dist: Literal["zipf"] = "zipf"
    s: Annotated[float, Field(ge=0, le=100)]
    n: Annotated[int, Field(ge=1, le=10_000_000)]
    positional: ClassVar = ("s", "n")


KEY_TYPES = {"uniform": UniformKeys, "zipf": ZipfKeys}

# ---------------------------------------------------------------------------- parsing

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", re.S)


def _split_args(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    tail = "".join(current).strip()
    if tail or parts:
        parts.append(tail)
    return parts


def _arg_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [_arg_value(t) for t in _split_args(text[1:-1]) if t]
    return text


def parse_call(text: str, types: dict[str, type[BaseModel]], what: str) -> dict[str, Any]:
    """Turn ``name(a, k=v)`` into ``{"dist": name, ...}`` using the model's positional names."""
    match = _CALL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a {what} (expected e.g. {_EXAMPLES[what]})")
    name, body = match.groups()
    name = ALIASES.get(name, name) if what == "distribution" else name
    if name not in types:
        raise ValueError(unknown_name(what, name, types))
    positional = getattr(types[name], "positional", ())
    data: dict[str, Any] = {"dist": name}
    for i, arg in enumerate(_split_args(body)):
        if not arg:
            raise ValueError(f"empty argument in {text!r}")
        key, eq, value = arg.partition("=")
        if eq and not key.strip().startswith("["):
            data[key.strip()] = _arg_value(value)
        elif i < len(positional):
            data[positional[i]] = _arg_value(arg)
        else:
            raise ValueError(f"too many positional arguments in {text!r} (name them, e.g. {name}(mean=...))")
    return data


_EXAMPLES = {"distribution": "exp(3ms), lognormal(median=4ms, p99=40ms) or 5ms",
             "key distribution": "zipf(s=1.1, n=100000) or uniform(n=1000)"}


def _coerce_dist(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a distribution (expected {_EXAMPLES['distribution']})")
    if isinstance(value, (int, float)) or isinstance(value, str) and not _CALL.match(value):
        if units_required(info) and bare_number(value) is not None:  # `work: 5`: say so at `work`
            parse_duration(value, require_unit=True)
        return {"dist": "const", "value": value}
    if isinstance(value, str):
        return parse_call(value, DIST_TYPES, "distribution")
    if isinstance(value, dict) and isinstance(value.get("dist"), str):
        return {**value, "dist": ALIASES.get(value["dist"], value["dist"])}
    return value


def _coerce_keys(value: Any) -> Any:
    if isinstance(value, str):
        return parse_call(value, KEY_TYPES, "key distribution")
    return value


def _tag(value: Any) -> str | None:
    return value.get("dist") if isinstance(value, dict) else getattr(value, "dist", None)


TAGGED_UNIONS["unknown_distribution"] = ("dist", "distribution", tuple(DIST_TYPES))
TAGGED_UNIONS["unknown_key_distribution"] = ("dist", "key distribution", tuple(KEY_TYPES))

Distribution = Annotated[
    Union[tuple(Annotated[t, Tag(name)] for name, t in DIST_TYPES.items())],  # type: ignore[misc]
    Discriminator(_tag, custom_error_type="unknown_distribution",
                  custom_error_message=f"unknown distribution (expected one of {', '.join(DIST_TYPES)})"),
    BeforeValidator(_coerce_dist),
]
"""Any duration distribution, inline or as a mapping."""

KeyDistribution = Annotated[
    Union[Annotated[UniformKeys, Tag("uniform")], Annotated[ZipfKeys, Tag("zipf")]],
    Discriminator(_tag, custom_error_type="unknown_key_distribution",
                  custom_error_message="unknown key distribution (expected uniform or zipf)"),
    BeforeValidator(_coerce_keys),
]
