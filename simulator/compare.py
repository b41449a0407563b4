"""Compare two designs fairly: same seeds (common random numbers), several replications.

Each replication runs design A and design B with the same seed, so both see the same
arrivals and the same random work wherever their components share names; the paired
differences then isolate the effect of the design. A difference is reported significant
when its 95 % t interval over the replications excludes zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .core.rng import replication_seeds
from .declared import declared, step_metrics
from .metrics.descriptors import Ratio
from .metrics.result import Result
from .scenario.model import Scenario
from .stats import mean_interval, paired_difference

METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "throughput_rps": lambda s: s["throughput_rps"],
    "goodput_rps": lambda s: s["goodput_rps"],
    "availability": lambda s: s["availability"],
    "latency_mean_s": lambda s: s["latency_s"]["mean"],
    "latency_p50_s": lambda s: s["latency_s"]["p50"],
    "latency_p95_s": lambda s: s["latency_s"]["p95"],
    "latency_p99_s": lambda s: s["latency_s"]["p99"],
    "latency_p999_s": lambda s: s["latency_s"]["p999"],
}


COMPONENT_METRICS = ("utilization",)
"""Per-component metrics compared when both designs have the component, before the ratios its kind
declares (:class:`~simulator.metrics.descriptors.Ratio`: a cache's hit ratio, a database's stale ratio)
and the ratios its steps add (:meth:`~simulator.steps.base.StepKind.ratios`: a saga's completed share)."""


@dataclass
class Comparison:
    """Per-replication summaries of both designs and the table of paired differences."""

    names: tuple[str, str]
    seeds: list[int]
    summaries: dict[str, list[dict[str, Any]]]
    first: dict[str, Result] = field(repr=False)

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric: means of A and B, mean difference B − A, its 95 % CI, significance."""
        a_name, b_name = self.names
        out = []
        for metric, read in {**METRICS, **self._component_metrics()}.items():
            a = [read(s) for s in self.summaries[a_name]]
            b = [read(s) for s in self.summaries[b_name]]
            ia, ib, diff = mean_interval(a), mean_interval(b), paired_difference(a, b)
            out.append({"metric": metric, "a": ia.mean, "b": ib.mean, "diff": diff.mean,
                        "ci_low": diff.low, "ci_high": diff.high, "replications": diff.n,
                        "significant": bool(diff.n > 1 and diff.excludes(0.0))})
        return out

    def _component_metrics(self) -> dict[str, Callable[[dict[str, Any]], float | None]]:
        """Per-component utilization, declared ratios and step ratios of the components both designs have."""
        a, b = (self.summaries[n][0]["components"] for n in self.names)
        scenarios = [self.first[n].scenario for n in self.names]
        out = {}
        for name in a:
            if name not in b:
                continue
            ratios = [r.name for kind in dict.fromkeys((a[name]["kind"], b[name]["kind"]))
                      for r in declared(kind, Ratio)]
            ratios += [r for scenario in scenarios for r in step_metrics(scenario, name)[1]]
            for key in dict.fromkeys((*COMPONENT_METRICS, *ratios)):
                if a[name].get(key) is not None or b[name].get(key) is not None:
                    out[f"component.{name}.{key}"] = lambda s, name=name, key=key: s["components"][name].get(key)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.names[0], "b": self.names[1], "seeds": self.seeds, "rows": self.rows()}


def compare(a: Scenario, b: Scenario, *, replications: int = 10, seed: int | None = None,
            names: tuple[str, str] = ("A", "B"), progress: Callable[[int, int], None] | None = None,
            workers: int | None = 1, scheduler: str | None = None) -> Comparison:
    """Run *a* and *b* with the same *replications* seeds (derived from *seed*, default A's seed).

    The runs go through :func:`simulator.experiments.executors.replicate`: here, one after the
    other (``workers=1``, the default), on *workers* local processes (``None``: a process per
    run, at most 4 per core) or a dask *scheduler*; the comparison does not depend on where.
    """
    from .experiments.executors import replicate

    if replications < 1:
        raise ValueError("replications must be at least 1")
    if names[0] == names[1]:
        names = (f"{names[0]} (A)", f"{names[1]} (B)")
    seeds = replication_seeds(a.seed if seed is None else seed, replications)
    summaries: dict[str, list[dict[str, Any]]] = {}
    first: dict[str, Result] = {}
    for done, (name, scenario) in enumerate(zip(names, (a, b)), start=1):
        results = replicate(scenario, seeds, workers=workers if scheduler is None else None, scheduler=scheduler)
        summaries[name] = [r.summary() for r in results]
        first[name] = results[0]
        if progress is not None:
            progress(done * replications, 2 * replications)
    return Comparison(names, seeds, summaries, first)
