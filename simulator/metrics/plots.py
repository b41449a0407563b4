"""``result.plot.<name>(...)``: one run's charts, drawn by the presentation layer.

Records never import presentation (the layers stay one-way): the accessor looks the
charts up by module name the first time one is drawn. The module (:data:`CHARTS`,
``simulator.viz`` unless a notebook or a plug-in points it elsewhere) lists them in a
mapping ``RESULT_CHARTS``: chart name → ``function(result, *args, **kwargs)`` returning a
figure. A chart added there is ``result.plot.<name>`` at once, with no edit here or in
:class:`~simulator.metrics.result.Result`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["CHARTS", "Charts", "result_charts"]

CHARTS = "simulator.viz"
"""The module whose ``RESULT_CHARTS`` fills the accessor, looked up by name when a chart is drawn."""


def result_charts() -> Mapping[str, Callable[..., Any]]:
    """Chart name → drawing function, as the :data:`CHARTS` module lists them."""
    return import_module(CHARTS).RESULT_CHARTS


class Charts:
    """The charts of one result: ``charts.<name>(*args, **kwargs)`` draws chart *name* of it."""

    __slots__ = ("_result",)

    def __init__(self, result: Any):
        self._result = result

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        charts = result_charts()
        if name not in charts:
            raise AttributeError(f"no chart {name!r} of a run (charts: {', '.join(sorted(charts))})")
        draw = charts[name]

        def chart(*args: Any, **kwargs: Any) -> Any:
            return draw(self._result, *args, **kwargs)

        return functools.update_wrapper(chart, draw)

    def __dir__(self) -> list[str]:
        return sorted(result_charts())

    def __repr__(self) -> str:
        return f"<charts of a run: {', '.join(sorted(result_charts()))}>"
