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

Path = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver, so ``2024-01-01`` stays a string."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
        """Map a validation ``loc`` (which may contain union tags) onto a path in the file."""
        resolved: Path = ()
        for segment in loc:
            candidate = resolved + (segment,)
            if candidate in self.values:
                resolved = candidate
        return resolved

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
        replaced = [p for p in self.values if p and not isinstance(_get(self.data, p), (dict, _Missing))]
        for index, own in ((base.values, self.values), (base.keys, self.keys)):
            for path, where in index.items():
                if path not in own and not any(path[: len(r)] == r for r in replaced):
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
    """Parse *text*; syntax errors and duplicate keys become problems, never exceptions."""
    source = Source(file=file, data=None)
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
    except yaml.YAMLError as exc:
        source.problems.append(Problem(file, None, None, "", f"invalid YAML: {exc}"))
        return source
    if node is None:
        source.problems.append(Problem(file, 1, 1, "", "the file is empty (expected a scenario mapping)"))
        return source
    constructor = _Loader("")
    source.data = _build(node, (), source, constructor)
    return source


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: Path, source: Source, constructor: yaml.SafeLoader) -> Any:
    source.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
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
            result[key] = _build(value_node, child, source, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), source, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
