"""The architecture of a scenario as a layered diagram (networkx graph, matplotlib drawing).

:func:`plot_topology` draws :func:`simulator.scenario.topology.call_graph` the way an
architecture diagram is drawn on a whiteboard:

* **Layers, top-down.** Workloads (the clients) form the top row. Below them the
  components are layered by call depth: the longest path from the workloads over the
  call graph, with back edges of cycles (a feedback loop such as Jackson's app → db →
  app) found by a depth-first search and left out of the layering. When components are
  placed in network zones, each zone becomes a horizontal *tier* (``edge``, ``app``,
  ``data`` …) stacked in call order, and the depth is counted inside each tier; stores
  (databases) that call nothing sit on the bottom row of their tier.
* **Order within a row** reduces edge crossings (Sugiyama-style barycenter sweeps; an
  edge spanning several rows goes through invisible waypoints so it never cuts a box),
  then x positions are balanced over the neighbours with a minimum gap between boxes.
* **Nodes** are rounded boxes labelled with the name, kind, ``×N replicas`` and workers
  (services) or connections (databases); workloads are pill-shaped with their arrival
  process. Without utilization the fill is the kind's Okabe–Ito colour (legend of kinds);
  with ``utilization`` it is the ``cividis`` colour of the value (colorbar
  "utilization (%)"), with white text on dark fills.
* **Edges**: synchronous calls solid, asynchronous publishes dashed, both explained in the
  legend; edges going back up (feedback loops) are curved so they never lie on a forward
  edge. Every arrow starts and ends on a box border.
* **Zones**: a translucent rounded rectangle in an Okabe–Ito colour behind the components
  of each zone, with the zone name. Components without a zone are not boxed.

The figure is sized from the layout (1 data unit = 1 inch) so labels do not overlap at
20–30 nodes; it is a plain :class:`matplotlib.figure.Figure` (no pyplot): save it with
``fig.savefig("arch.png")`` or ``.svg``.

Drawn artists carry ``gid``\\ s so tests and tools can find them: ``node:NAME`` (boxes),
``node-label:NAME`` (the name text), ``edge:CALLER->CALLEE`` (arrows),
``zone:NAME`` / ``zone-label:NAME`` (zone backgrounds). Workload nodes are named
``workload:NAME`` as in the call graph; their label shows ``NAME``.

One module per concept, every name re-exported here: :mod:`~.look` (colours, sizes,
geometry), :mod:`~.model` (``Node``, ``Layout``), :mod:`~.rows` (layering, ordering,
placement; pure), :mod:`~.arrange` (labels and :func:`layout`) and :mod:`~.drawing`
(:func:`edge_paths`, :func:`plot_topology`).
"""

from __future__ import annotations

from .arrange import _labels, layout
from .drawing import edge_paths, plot_topology
from .look import (
    COLORBAR_W, DETAIL_SIZE, DUMMY_W, EDGE_COLOR, EXTRA_KIND_COLORS, FEEDBACK_COLOR, H_GAP,
    KIND_COLORS, LEGEND_ROW_H, LEGEND_SIZE, LINE_GAP, MARGIN, MIN_BOX_W, NAME_SIZE, NO_DATA_EDGE,
    NO_DATA_FILL, PAD_X, PAD_Y, SELF_LOOP_W, TEXT_DARK, TITLE_H, V_GAP, ZONE_COLORS,
    ZONE_PAD_BOTTOM, ZONE_PAD_TOP, ZONE_PAD_X,
)
from .model import Layout, Node

__all__ = ["edge_paths", "layout", "plot_topology"]
