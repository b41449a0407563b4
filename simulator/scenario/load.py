"""Load a scenario file: YAML → overrides → ``${param}`` substitution → pydantic → topology checks.

Every problem found on the way is collected, located (``FILE:LINE:COL``) and raised at
once as a :class:`~simulator.errors.ScenarioError`. Warnings (such as an unreachable
component) do not stop loading; :func:`check_scenario` returns them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Any, Iterable, Iterator

from pydantic import ValidationError

from ..errors import Problem, ScenarioError, unknown_name
from . import budget, loops, topology
from .model import Scenario
from .params import OVERRIDE_FILE, apply_sets, parse_assignment, resolve_params, substitute
from .files import UnreadableFile, read_text
from .source import Path, Source, dotted, read_yaml
from .types import TAGGED_UNIONS, UNITS_REQUIRED

_TAGS = {"function-after", "function-before", "function-plain", "function-wrap"}


def load_scenario(path: str | FsPath, *, params: Iterable[str] = (), sets: Iterable[str] = ()) -> Scenario:
    """Read and validate the scenario at *path*.

    Args:
        path: the YAML file.
        params: ``name=value`` overrides of declared ``params``.
        sets: ``dotted.path=value`` overrides of any field.

    Raises:
        ScenarioError: with every problem found, each located in the file.
    """
    return check_scenario(path, params=params, sets=sets)[0]


def check_scenario(path: str | FsPath, *, params: Iterable[str] = (), sets: Iterable[str] = (),
                   text: str | None = None, root: FsPath | None = None) -> tuple[Scenario, list[Problem]]:
    """Like :func:`load_scenario`, also returning the warnings.

    With *root*, the file and every file it ``extends`` must lie inside that folder
    (symlinks resolved): what a lab submission may read.
    """
    file = str(path)
    if text is None:
        try:
            text = read_text(path, root=root)
        except UnreadableFile as exc:
            raise ScenarioError([Problem(file, None, None, "", str(exc))]) from None
    source = read_yaml(text, file)
    problems = list(source.problems)
    if source.data is not None and not isinstance(source.data, dict):
        problems.append(Problem(file, 1, 1, "", "expected a mapping of scenario fields at the top level"))
    if not isinstance(source.data, dict):
        raise ScenarioError(problems)
    base_problems = _extend(source, FsPath(path), chain=(FsPath(path).resolve(),), root=root)
    if base_problems:  # what the base would have given is unknown: "field missing" would mislead
        raise ScenarioError(_sorted(problems + base_problems))

    set_list, param_list = list(sets), list(params)
    problems += apply_sets(source, set_list)
    overridden = _overridden_paths(set_list) | {("params", p.partition("=")[0].strip())
                                                for p in param_list if "=" in p}
    values, param_problems = resolve_params(source, param_list)
    problems += param_problems
    unresolved = substitute(source, values)
    problems += unresolved
    skip = {p.path for p in unresolved}  # the type error there only repeats the unknown ${param}
    not_text = [replace(_located(source, where, message, overridden, key=key),
                        path=dotted(where[:-1] if key else where))
                for where, message, key in _lone_surrogates(source.data)]  # no picture, page or terminal shows one
    problems += not_text

    try:
        scenario = Scenario.model_validate(source.data, context=UNITS_REQUIRED)  # `timeout: 500` is refused
    except ValidationError as exc:
        found = [err for err in exc.errors() if not (not_text and err["type"] == "string_unicode")]  # said above
        problems += [p for p in (_from_pydantic(source, err, overridden) for err in found) if p.path not in skip]
        raise ScenarioError(_sorted(problems)) from None
    if problems:
        raise ScenarioError(_sorted(problems))

    errors, warnings = topology.check(scenario)
    if not errors:
        endless, deadlocks = loops.check(scenario)
        too_big, heavy = budget.check(scenario)
        errors, warnings = endless + too_big, warnings + deadlocks + heavy
    if errors:
        raise ScenarioError(_sorted([_located(source, p, m, overridden) for p, m in errors]))
    return scenario, [_located(source, p, m, overridden, key=True) for p, m in warnings]


def _extend(source: Source, path: FsPath, chain: tuple[FsPath, ...], root: FsPath | None) -> list[Problem]:
    """Apply ``extends: other.yaml`` (relative to this file), recursively: this file overrides its base.

    The base is read like any input (:func:`~simulator.scenario.files.read_text`): a regular
    UTF-8 file of bounded size, inside *root* when one is given.
    """
    base_name = source.data.pop("extends", None)
    if base_name is None:
        return []
    if not isinstance(base_name, str):
        return [source.problem(("extends",), "extends needs a file name (a path relative to this file)")]
    try:
        base_path = path.parent / base_name
        looped = base_path.resolve() in chain
    except (OSError, RuntimeError, ValueError) as exc:  # a NUL in the name, a symlink loop
        return [source.problem(("extends",), f"cannot use {base_name!r} as a base: {exc}")]
    if looped:
        return [source.problem(("extends",), f"extends loops back to {base_name}")]
    try:
        base = read_yaml(read_text(base_path, root=root), str(base_path))
    except UnreadableFile as exc:
        return [source.problem(("extends",), f"cannot use {base_name} as a base: {exc}")]
    if base.problems or not isinstance(base.data, dict):
        return base.problems or [Problem(str(base_path), 1, 1, "", "expected a mapping of scenario fields")]
    problems = _extend(base, base_path, chain + (base_path.resolve(),), root)
    source.inherit(base)
    return problems


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogates(data: Any, path: Path = ()) -> Iterator[tuple[Path, str, bool]]:
    """``(path, message, is_key)`` for every key or string holding a lone surrogate (a ``"\\udc80"``
    escape, or a command-line byte that is not UTF-8): half of a UTF-16 pair, not a character."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and _SURROGATE.search(key):
                yield path + (key,), f"the key {key!r} holds a lone surrogate, which is not a character", True
            else:
                yield from _lone_surrogates(value, path + (key,))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _lone_surrogates(item, path + (index,))
    elif isinstance(data, str) and _SURROGATE.search(data):
        yield path, f"{data!r} holds a lone surrogate, which is not a character", False


def _overridden_paths(sets: list[str]) -> set[Path]:
    paths = set()
    for text in sets:
        name, eq, _ = text.partition("=")
        if eq:
            paths.add(tuple(int(p) if p.isdigit() else p for p in name.strip().split(".")))
    return paths


def _located(source: Source, path: Path, message: str, overridden: set[Path], *, key: bool = False) -> Problem:
    for o in overridden:
        if path[: len(o)] == o:
            return Problem(OVERRIDE_FILE, None, None, dotted(path), message)
    return source.problem(path, message, key=key)


def _from_pydantic(source: Source, err: dict, overridden: set[Path]) -> Problem:
    loc = tuple(s for s in err["loc"] if not (isinstance(s, str) and s.split("[")[0] in _TAGS))
    resolved = source.resolve(loc)
    rest = loc[len(resolved):] if loc[: len(resolved)] == resolved else ()
    shown = resolved
    message = err["msg"].removeprefix("Value error, ")
    kind = err["type"]
    if kind == "extra_forbidden":
        shown = resolved if resolved and resolved[-1] == loc[-1] else resolved + (loc[-1],)
        message = f"unknown field {loc[-1]!r} (not allowed here; check the spelling)"
        return _located(source, shown, message, overridden, key=True)
    if kind in TAGGED_UNIONS and isinstance(err.get("input"), dict):  # kind: databse
        key, what, names = TAGGED_UNIONS[kind]
        given = err["input"].get(key)
        if given is None:
            return _located(source, resolved, f"no {key} given: say which {what} this is (valid {what}s: "
                                              f"{', '.join(names)})", overridden)
        return _located(source, resolved + (key,), unknown_name(what, given, names), overridden)
    if kind == "literal_error" and isinstance(err.get("input"), str) and isinstance(loc[-1:] and loc[-1], str):
        names = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        if names:  # policy: round_robbin
            field = loc[-1]
            plural = ((field[:-1] + "ies" if field.endswith("y") else field + "s")
                      if field.isalpha() and not field.endswith("s") and len(field) > 3 else "values")
            shown = resolved + (field,) if rest and rest[-1] == field else resolved
            return _located(source, shown, unknown_name(field, err["input"], names, plural), overridden)
    if kind == "missing":
        shown = resolved + (loc[-1],)
        message = f"required field {loc[-1]!r} is missing"
    elif rest and isinstance(rest[-1], str) and not rest[-1][:1].isupper():
        shown = resolved + (rest[-1],)
    if kind.startswith(("int_", "float_", "bool_", "string_", "literal_", "greater", "less", "dict_", "list_")):
        given = err.get("input")
        if not isinstance(given, (dict, list)):
            message += f" (got {_shortened(repr(given))})"
    return _located(source, shown, message, overridden)


def _shortened(text: str, limit: int = 80) -> str:
    """*text*, cut in the middle when longer than *limit* (a value can be megabytes long)."""
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 4:]} ({len(text):,} characters)"


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file, p.line or 0, p.column or 0, p.path))
