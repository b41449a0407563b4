"""The metrics each component kind declares, looked up by the kind's name (what consumers read).

Summaries name a component's ``kind``; :func:`metrics_of` finds that kind in
:data:`simulator.components.KINDS` and returns its spec's declared
:mod:`~simulator.metrics.descriptors` (none for a kind that is not registered in this
process: its numbers are then shown generically).
"""

from __future__ import annotations

from typing import TypeVar

from .metrics.descriptors import Metric, of_kind

__all__ = ["declared", "metrics_of", "step_metrics"]

M = TypeVar("M", bound=Metric)


def metrics_of(kind: str) -> tuple[Metric, ...]:
    """What *kind* declares, in declaration order."""
    from .components import KINDS

    if kind not in KINDS:
        return ()
    return of_kind(KINDS[kind].spec)


def declared(kind: str, type_: type[M]) -> list[M]:
    """The declarations of *kind* of one descriptor type (e.g. every :class:`Ratio`)."""
    return [m for m in metrics_of(kind) if isinstance(m, type_)]


def step_metrics(scenario, component: str) -> tuple[list[str], list[str]]:
    """What the steps of *component*'s operations add to its summary entry (a saga's outcomes:
    :meth:`~simulator.steps.base.StepKind.metrics`), and which of those are ratios
    (:meth:`~simulator.steps.base.StepKind.ratios`); ``([], [])`` for a component not in *scenario*."""
    from .scenario.topology import iter_steps
    from .steps import kind_of

    spec = scenario.components.get(component)
    names: list[str] = []
    ratios: list[str] = []
    for steps in (spec.operation_steps().values() if spec is not None else ()):
        for step, _, _ in iter_steps(steps, ()):
            kind = kind_of(step)
            names += kind.metrics(step)
            ratios += kind.ratios(step)
    return list(dict.fromkeys(names)), list(dict.fromkeys(ratios))


def headline_ratios() -> dict[str, str]:
    """Ratio name → label of every registered kind's ratios marked ``headline`` (sweep table columns)."""
    from .components import KINDS
    from .metrics.descriptors import Ratio

    return {r.name: r.text for kind in KINDS for r in declared(kind, Ratio) if r.headline}


def ratio_labels() -> dict[str, str]:
    """Ratio name → label of every registered kind's declared ratios (axis labels of sweep charts)."""
    from .components import KINDS
    from .metrics.descriptors import Ratio

    return {r.name: r.text for kind in KINDS for r in declared(kind, Ratio)}
