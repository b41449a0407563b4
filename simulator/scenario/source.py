"""Reading YAML while remembering where every value came from.

PyYAML's ``compose`` gives nodes with source marks; :func:`read_yaml` walks them once to
build the plain Python data *and* an index ``{path: (line, column)}`` for keys and values,
rejecting duplicate keys on the way (PyYAML would silently keep the last one). Dates stay
strings: the implicit timestamp resolver is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Problem
from .yaml_guard import guard

Path = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver, so ``2024-01-01`` stays a string."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_CLoader = getattr(yaml, "CSafeLoader", None)  # libyaml's parser, when PyYAML was built with it


@dataclass
class Source:
    """Parsed data plus where each path sits in the file."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[Path, str] = field(default_factory=dict)  # paths inherited from another file (``extends``)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int] | None:
        """Line/column of *path*, or of its closest located ancestor."""
        found = self._find(path, key)
        return None if found is None else found[1]

    def _find(self, path: Path, key: bool) -> tuple[Path, tuple[int, int]] | None:
        path = tuple(path)
        while True:
            if key and path in self.keys:
                return path, self.keys[path]
            if path in self.values:
                return path, self.values[path]
            if not path:
                return None
            path = path[:-1]

    def resolve(self, loc: Path) -> Path:
        """Map a validation ``loc`` (which may contain union tags) onto a path in the file.

        The longest path in the file made of *loc*'s segments in order; among equals, the one
        reaching furthest into *loc*. (A tag may also be a key: in ``steps.0.call.timeout`` the
        step's ``call`` key is the union tag, and the value is at ``steps.0.timeout``.)
        """
        best: tuple[int, int, Path] = (0, -1, ())

        def walk(i: int, resolved: Path, last: int) -> None:
            nonlocal best
            if (len(resolved), last) > best[:2]:
                best = (len(resolved), last, resolved)
            for j in range(i, len(loc)):
                candidate = resolved + (loc[j],)
                if candidate in self.values:
                    walk(j + 1, candidate, j)

        walk(0, (), -1)
        return best[2]

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        found = self._find(path, key)
        if found is None:
            return Problem(self.file, None, None, dotted(path), message)
        located, (line, col) = found
        return Problem(self.files.get(located, self.file), line, col, dotted(path), message)

    def inherit(self, base: "Source") -> None:
        """Deep-merge *base* under this file's data (``extends``): mappings merge, anything else replaces.

        Locations of inherited values keep pointing into the base file.
        """
        replaced = {p for p in self.values if p and not isinstance(_get(self.data, p), (dict, _Missing))}
        for index, own in ((base.values, self.values), (base.keys, self.keys)):
            for path, where in index.items():  # linear: each path's prefixes are looked up, not every pair
                if path not in own and not any(path[:k] in replaced for k in range(1, len(path) + 1)):
                    own[path] = where
                    self.files.setdefault(path, base.files.get(path, base.file))
        self.data = _merge(base.data, self.data)


class _Missing:
    """A path that is no longer in the data (e.g. the ``extends`` key itself)."""


def _get(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return _Missing()
    return data


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def read_yaml(text: str, file: str) -> Source:
    """Parse *text*; syntax errors, duplicate keys and what :func:`~.yaml_guard.guard` refuses
    become problems, never exceptions."""
    source = Source(file=file, data=None)
    refused = _guard(text, file)
    if refused is not None:
        source.problems.append(refused)
        return source
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = " ".join(str(m) for m in (exc.context, exc.problem) if m)
        source.problems.append(Problem(file, line, col, "", f"invalid YAML: {message}"))
        return source
    except yaml.reader.ReaderError as exc:  # a control character: located by offset, turned into line:col
        line, col = _line_col(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        source.problems.append(Problem(file, line, col, "", f"invalid YAML: the control character U+{code:04X} "
                                                            "is not allowed in a YAML file"))
        return source
    except yaml.YAMLError as exc:
        source.problems.append(Problem(file, None, None, "", f"invalid YAML: {exc}"))
        return source
    if node is None:
        source.problems.append(Problem(file, 1, 1, "", "the file is empty (expected a scenario mapping)"))
        return source
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        what = f"only {node.value!r}, which YAML reads as null" if node.value else "an empty document"
        source.problems.append(Problem(file, *_mark(node), "", f"the file holds {what} (expected a scenario mapping)"))
        return source
    constructor = _Loader("")
    source.data = _build(node, (), source, constructor)
    return source


def _guard(text: str, file: str) -> Problem | None:
    """:func:`~.yaml_guard.guard` with the pure-Python parser, what every message and location
    comes from; but a file that libyaml parses to the end with nothing to refuse is let through
    on libyaml's events alone (twenty times faster: ``sdsim validate`` starts sooner). Both
    parsers give the same events where both parse, so what libyaml passes whole the pure parser
    refuses nowhere: it either passes too or stops at a syntax error, which composing reports."""
    if _CLoader is not None:
        try:
            for _ in yaml.parse(text, Loader=_CLoader):  # libyaml parses the whole file…
                pass
            if guard(text, file, _CLoader) is None:  # …and finds nothing to refuse
                return None
        except Exception:  # noqa: BLE001 - any doubt (a lone surrogate cannot be encoded for libyaml): ask the pure parser
            pass
    return guard(text, file, _Loader)


def read_value(text: str) -> Any:
    """A command-line value (``--set``, ``--param``, a sweep list item) read as YAML, or the
    text itself when it is not valid YAML or the guard refuses it (deep, tagged, a bomb)."""
    if guard(text, "<value>", _Loader) is not None:
        return text
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader, guarded above
    except yaml.YAMLError:
        return text


def _line_col(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: Path, source: Source, constructor: yaml.SafeLoader) -> Any:
    source.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        merges: list[tuple[yaml.Node, yaml.Node]] = []  # `<<: *base` pairs, applied after the explicit keys
        pairs, i = node.value, 0
        while i < len(pairs):
            key_node, value_node = pairs[i]
            i += 1
            if key_node.tag == MERGE_TAG:
                merges.append((key_node, value_node))
                continue
            key = constructor.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                key = str(key)
            child = path + (key,)
            if key in result:
                first = source.keys[child][0]
                source.problems.append(Problem(source.file, *_mark(key_node), dotted(child),
                                               f"duplicate key {key!r} (first defined on line {first})"))
                continue
            source.keys[child] = _mark(key_node)
            split = _split_call(value_node, pairs[i:]) if node.flow_style else None
            if split is not None:  # {work: lognormal(median=1ms, p99=6ms)}: the comma ended the value
                result[key], used = split
                i += used
                source.values[child] = _mark(value_node)
                source.problems.append(_split_problem(source, child, value_node, f"{key}: \"{result[key]}\"", "{ }"))
                continue
            result[key] = _build(value_node, child, source, constructor)
        if merges:
            result = _merge_keys(merges, result, path, source, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        i = 0
        while i < len(node.value):
            item = node.value[i]
            i += 1
            split = _split_call(item, [(n, None) for n in node.value[i:]]) if node.flow_style else None
            child = path + (len(items),)
            if split is not None:  # [lognormal(median=1ms, p99=6ms)]
                text, used = split
                i += used
                source.values[child] = _mark(item)
                source.problems.append(_split_problem(source, child, item, f"[\"{text}\"]", "[ ]"))
                items.append(text)
                continue
            items.append(_build(item, child, source, constructor))
        return items
    return constructor.construct_object(node, deep=True)


MERGE_TAG = "tag:yaml.org,2002:merge"


def _merge_keys(merges: list[tuple[yaml.Node, yaml.Node]], own: dict[Any, Any], path: Path, source: Source,
                constructor: yaml.SafeLoader) -> dict[Any, Any]:
    """YAML merge keys: ``<<: *base`` (or ``<<: [*a, *b]``) adds the keys of those mappings
    that the mapping does not set itself; with a list, an earlier mapping wins over a later.
    A merged value is located where its anchor wrote it."""
    merged: dict[Any, Any] = {}
    for key_node, value_node in merges[:1]:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        if not all(isinstance(m, yaml.MappingNode) for m in sources):
            source.problems.append(Problem(source.file, *_mark(value_node), dotted(path),
                                           "`<<` merges a mapping or a list of mappings (e.g. `<<: *base`)"))
            return own
        for mapping in sources:
            for k_node, v_node in mapping.value:
                if k_node.tag == MERGE_TAG:
                    continue  # a merge inside a merged mapping was already applied where it was written
                key = constructor.construct_object(k_node, deep=True)
                if isinstance(key, (list, dict)):
                    key = str(key)
                if key in own or key in merged:
                    continue
                source.keys[path + (key,)] = _mark(k_node)
                merged[key] = _build(v_node, path + (key,), source, constructor)
    for key_node, _ in merges[1:]:
        source.problems.append(Problem(source.file, *_mark(key_node), dotted(path), "duplicate key '<<' (one merge "
                                                                                    "key per mapping; list several: `<<: [*a, *b]`)"))
    merged.update(own)
    return merged


def _plain(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style is None


def _split_call(first: yaml.Node, rest: list[tuple[yaml.Node, yaml.Node | None]]) -> tuple[str, int] | None:
    """An unquoted call such as ``lognormal(median=1ms, p99=6ms)`` inside ``{ }`` or ``[ ]`` is cut by
    YAML at its commas: ``lognormal(median=1ms`` then a key (or item) ``p99=6ms)``. Return the text
    put back together and how many of the following *rest* pieces it took, or None when *first*
    is not such an opening."""
    if not _plain(first) or "(" not in first.value:
        return None
    depth = first.value.count("(") - first.value.count(")")
    if depth <= 0:
        return None
    parts = [first.value]
    for used, (piece, value) in enumerate(rest, 1):
        if not _plain(piece) or (value is not None and not (_plain(value) and value.value == "")):
            return None  # a real `key: value` pair: not a piece of the call
        parts.append(piece.value)
        depth += piece.value.count("(") - piece.value.count(")")
        if depth <= 0:
            return ", ".join(parts), used
    return None


def _split_problem(source: Source, path: Path, node: yaml.Node, quoted: str, brackets: str) -> Problem:
    return Problem(source.file, *_mark(node), dotted(path),
                   f"{node.value!r} is cut short: inside {brackets} YAML splits unquoted text at each comma; "
                   f"quote the distribution, e.g. {quoted}")
