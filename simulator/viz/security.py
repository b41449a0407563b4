"""Chart of zero trust per hop: what security did per component, and what it cost in latency.

:func:`plot_security` draws, for a run whose scenario has ``security:``
(:mod:`simulator.security`), one group of horizontal bars per component: the connections
it accepted (``handshakes``) and refused (``mtls_rejected``), the requests its policies
denied (``authz_denied``, 403) and its external authorizer's checks and cache hits. Given a
``baseline`` run (the same design without ``security:``, or with it relaxed), a second
panel sets the two runs' latency percentiles side by side: the latency price of security.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .charts import _figure, _legend
from .style import CYCLE, no_data, style_axes, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result

COUNTERS = ("handshakes", "mtls_rejected", "authz_denied", "ext_authz_checks", "ext_authz_cache_hits")
LABELS = {"handshakes": "handshakes", "mtls_rejected": "refused (mTLS)", "authz_denied": "denied (403)",
          "ext_authz_checks": "ext_authz checks", "ext_authz_cache_hits": "ext_authz cache hits"}
PERCENTILES = ("p50", "p90", "p99")


def counts(result: "Result") -> dict[str, dict[str, int]]:
    """Component → its security counters (components that counted nothing left out)."""
    out = {}
    for name, entry in result.summary()["components"].items():
        found = {c: int(entry.get("counts", {}).get(c, 0) or 0) for c in COUNTERS}
        if any(found.values()):
            out[name] = found
    return out


def plot_security(result: "Result", baseline: "Result | None" = None, *, figsize: tuple[float, float] | None = None,
                  title: str | None = None) -> "Figure":
    """Per component the security counters; with *baseline*, the latency percentiles of both runs."""
    table = counts(result)
    panels = 2 if baseline is not None else 1
    fig = _figure(figsize or (6 * panels + 2, max(3.0, 0.6 * len(table) + 1.5)))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = style_axes(axes[0])
    if not table:
        no_data(ax, "no security counters (a scenario with `security:` has them)")
    else:
        names = list(table)
        height = 0.8 / len(COUNTERS)
        y = np.arange(len(names))
        for i, counter in enumerate(COUNTERS):
            ax.barh(y + i * height, [table[n][counter] for n in names], height, color=CYCLE[i % len(CYCLE)],
                    label=LABELS[counter])
        ax.set_yticks(y + 0.4 - height / 2, names)
        ax.invert_yaxis()
        ax.set_xlabel("count over the run")
        _legend(ax)
    if baseline is not None:
        ax2 = style_axes(axes[1])
        secured, plain = result.summary()["latency_s"], baseline.summary()["latency_s"]
        x = np.arange(len(PERCENTILES))
        ax2.bar(x - 0.2, [1e3 * (plain.get(p) or 0) for p in PERCENTILES], 0.4, color=CYCLE[0], label="baseline")
        ax2.bar(x + 0.2, [1e3 * (secured.get(p) or 0) for p in PERCENTILES], 0.4, color=CYCLE[3], label="secured")
        ax2.set_xticks(x, PERCENTILES)
        ax2.set_ylabel("latency (ms)")
        ax2.set_title("the latency price of security", fontsize="medium")
        _legend(ax2, outside=False)
    fig.suptitle(title or title_for(result, "zero trust per hop"))
    return fig
