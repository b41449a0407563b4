"""Explain a failed SLO in the student's terms.

Per failed check (:func:`explain_slo_failure`): which objective and by how much, the moment
it first broke (and the fault active then), and what broke it, read *while it was broken*.
Per report (:func:`diagnose`): each distinct cause once, in ``GradeReport.diagnosis``; each
failed check keeps its own first lines and one short pointer.

How "while it was broken" is found, in the first replication:

* the objective's own series (the operation's own, when the objective names one) in
  buckets of about a sixtieth of the measurement window; a bucket is *broken* when it holds
  at least :data:`MIN_REQUESTS` completed requests of that scope (successful ones for a
  latency) and its value breaks the target;
* a stretch of broken buckets starts at the moment its first bucket went over its
  allowance, read on the requests themselves: the (⌊(1 − q)·n⌋ + 1)-th request of the
  bucket to become late (at issue + target) for a p-q latency, the first failure past the
  allowed share for availability, and never before the first request of that scope issued
  in the bucket. A bucket's left edge may lie before the load that broke it; this moment
  cannot;
* the broken buckets are put down to causes (:func:`find_causes`): a crash that overlaps
  them (a crashed component is idle, not relieved: no load is read there), else the
  components saturated in them (≥ :data:`SATURATED`), or none. Utilization and mean queue
  length are averaged over exactly a cause's buckets, with the whole window's utilization
  beside it: a whole-window mean also counts the calm stretches and a crash's idle time,
  and understates how saturated a component was when it mattered;
* with summary records an operation's own series cannot be read (a mixed series would
  name the wrong moment): the lines say so and give whole-window numbers only; a
  whole-traffic series is read at bucket precision, a stretch named from its first
  bucket's *end* (late by at most a bucket, never early).

One module per step, every name re-exported here: :mod:`~.broken` (where and when it
broke), :mod:`~.causes` (what broke it, one failed check's lines) and :mod:`~.diagnosis`
(each distinct cause once per report). An objective on a component's metric (lost
messages, stale reads, half-done sagas) is explained from that component's own records
instead (:mod:`~.components`).
"""

from __future__ import annotations

from .alerts import explain_alert_failure
from .broken import BUCKETS, MIN_REQUESTS, QUANTILE, SATURATED, Broken, find_broken
from .causes import Cause, cause_lines, explain_slo_failure, find_causes
from .components import EXPLAINERS, explain_component_failure
from .diagnosis import diagnose
