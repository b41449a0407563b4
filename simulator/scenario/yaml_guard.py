"""What a YAML file may ask of the reader before it is composed: bounded depth, bounded
alias expansion, no tags.

PyYAML composes recursively and expands aliases without limit, so a file nested a
thousand deep or a "billion laughs" (anchors of aliases of anchors…) would exhaust the
stack or the memory before any scenario check runs. :func:`guard` walks the parser's
*events* (iteratively, in constant stack) and refuses, with the location of the first
offending event:

* nesting deeper than :data:`MAX_DEPTH` mappings and lists;
* a file whose values, aliases expanded, number more than :data:`MAX_NODES`;
* an alias to the node that contains it (``x: &r [*r]``: infinite);
* any explicit tag (``!!int``, ``!custom``, ``!!python/name:…``): a scenario is plain
  YAML, and a tag would only change how a value is read behind the validator's back.

Anchors, aliases and merge keys (``<<: *base``) within those bounds are fine.
"""

from __future__ import annotations

import yaml

from ..errors import Problem

MAX_DEPTH = 64  # a scenario nests about 8 deep; nested steps a few more
MAX_NODES = 20_000  # values after alias expansion; a large scenario has a few thousand


def guard(text: str, file: str, loader: type[yaml.SafeLoader]) -> Problem | None:
    """The first reason to refuse *text* before composing it, or ``None``.

    A syntax error is not reported here (``None``): composing reports it with its context.
    """
    sizes: dict[str, int] = {}  # anchor -> how many values it stands for, expanded
    stack: list[tuple[str | None, int]] = []  # open collections: (anchor, values before it)
    total = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in sizes:
                    open_anchors = {a for a, _ in stack}
                    why = ("refers to a list or mapping that contains it (it would repeat forever)"
                           if event.anchor in open_anchors else "has no anchor defined before it")
                    return _at(file, event, f"the alias *{event.anchor} {why}")
                total += sizes[event.anchor]
            elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                if event.tag is not None:
                    tag = event.tag.replace("tag:yaml.org,2002:", "!!")
                    return _at(file, event, f"YAML tags such as {tag!r} are not accepted: "
                                            "write the plain value (a scenario is plain YAML)")
                total += 1
                if isinstance(event, yaml.CollectionStartEvent):
                    stack.append((event.anchor, total - 1))
                    if len(stack) > MAX_DEPTH:
                        return _at(file, event, f"lists and mappings nest more than {MAX_DEPTH} deep here")
                elif event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, before = stack.pop()
                if anchor is not None:
                    sizes[anchor] = total - before
            if total > MAX_NODES:
                return _at(file, event, f"the file stands for more than {MAX_NODES:,} values once its aliases "
                                        "are expanded (each *alias repeats what its &anchor holds)")
    except yaml.YAMLError:
        return None
    return None


def _at(file: str, event: yaml.Event, message: str) -> Problem:
    mark = event.start_mark
    return Problem(file, mark.line + 1, mark.column + 1, "", message)
