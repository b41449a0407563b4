"""Closed-form queueing and reliability results: the oracle simulations are checked against.

Pure functions (stdlib ``math`` only). Units are SI: times in seconds, rates per second;
``offered_load`` is in Erlangs (``a = arrival_rate / service_rate``).

Models and their assumptions:

* **M/M/1, M/M/c** — Poisson arrivals (rate ``lambda``), exponential service (rate ``mu``
  per server), ``c`` identical servers, FIFO, infinite waiting room, infinite source
  population. A steady state exists only when ``rho = lambda / (c mu) < 1``.
* **M/M/c/K** — as M/M/c but at most ``K >= c`` jobs in the system (queued plus in
  service); an arrival finding ``K`` jobs is lost. Valid for any ``rho``. Waiting
  probability and times refer to *accepted* arrivals.
* **M/G/1** — Poisson arrivals, i.i.d. general service with mean ``E[S]`` and squared
  coefficient of variation ``scv = Var[S] / E[S]^2``, one FIFO server (Pollaczek-Khinchine
  mean-value formula). M/D/1 is ``scv = 0``.
* **Open Jackson network** — Poisson external arrivals, M/M/c stations, probabilistic
  routing; each station is an M/M/c fed by the solution of the traffic equations
  ``lambda_j = gamma_j + sum_i lambda_i P[i][j]``.
* **MVA** — closed network of ``N`` identical users: one delay station (think time ``Z``)
  and load-independent single-server FCFS stations given by service demands ``D_k``
  (``V_k`` visits of ``S_k`` each); each station's residence time ``R_k``, so ``R_k / V_k``
  per visit.
* **Availability** — independent components; availability is the long-run fraction of
  time up, ``MTBF / (MTBF + MTTR)``.
* **Fan-out** — a request that waits for ``n`` independent leaves is slow if any leaf is.
* **Caches** — independent reference model (IRM) requests with popularity ``p_i``:
  Che's approximation for LRU, its FIFO/RANDOM analogue, static top-C LFU, TTL caches and
  the stampede; defined in :mod:`simulator.caching.theory` and re-exported here.
* **Load balancing** — one Poisson stream split over ``n`` identical exponential FIFO
  servers: at random (M/M/1 each), round robin (E_n/M/1 each), or to the shortest of
  ``d`` sampled queues (Mitzenmacher's supermarket model, ``n`` -> infinity).
* **Placement** — keys with uniformly distributed hashes; consistent-hashing rings
  with ``v`` uniformly hashed points per node.

Invalid inputs (non-positive rates, unstable systems where the formula needs stability,
capacity below servers, probabilities out of range) raise :class:`ValueError`.

One module per topic, every name re-exported here (``simulator.theory.mmc`` and
``from simulator.theory import mmc`` are the public paths):

* :mod:`~simulator.theory.queues` — single stations (Erlang B/C, M/M/1, M/M/c, M/M/c/K,
  M/G/1, M/D/1, Little's law, sizing for a waiting probability);
* :mod:`~simulator.theory.networks` — Jackson networks, tandem lines, MVA;
* :mod:`~simulator.theory.reliability` — availability and fan-out tails;
* :mod:`~simulator.theory.availability` — availability arithmetic under the short names
  (``serial``, ``parallel``, ``k_of_n``, ``majority_quorum``, ``steady_state``,
  ``nines_downtime``) and the partial-quorum stale-read probability (PBS,
  ``availability.stale_read_probability``; not the projection one re-exported here);
* :mod:`~simulator.theory.load_balancing` — random, round robin, the supermarket model;
* :mod:`~simulator.theory.placement` — consistent-hashing shares and keys moved;
* :mod:`~simulator.theory.messaging` — consumer lag, auto-commit duplicates, ``acks=all``,
  projection lag and stale reads, event-sourcing replay, saga outcomes;
* :mod:`~simulator.theory.event_sourcing` — a store's recovery time by replay with snapshots,
  its mean over crash moments, optimistic-concurrency conflicts;
* caches — :mod:`simulator.caching.theory`.
"""

from __future__ import annotations

# The cache closed forms live with the cache policies (no import cycle); re-exported so
# `simulator.theory` stays the one place a tutor looks for "formula vs simulation".
from ..caching.theory import (
    che_characteristic_time, fifo_hit_ratio, lfu_hit_ratio, lru_hit_ratio, stampede_origin_loads,
    ttl_hit_ratio, ttl_hit_ratio_after_access, ttl_hit_ratio_after_write, zipf_popularity,
)
from .availability import k_of_n, majority_quorum, nines_downtime, steady_state
from .event_sourcing import (
    conflict_probability, conflict_ratio, expected_recovery_time, lost_update_probability, recovery_time,
    replayed_events,
)
from .load_balancing import (
    random_routing_response_time, round_robin_response_time, supermarket_response_time,
    supermarket_tail,
)
from .messaging import (
    acks_all_write_availability, auto_commit_duplicates, catch_up_time, lag_before_reassignment,
    projection_lag_mean, projection_lag_quantile, replay_time, saga_expected_compensations, saga_latency,
    saga_messages, saga_outcomes, stale_read_probability, token_wait,
)
from .networks import MVAResult, NetworkMetrics, jackson, mva, tandem
from .placement import consistent_keys_moved, mod_n_keys_moved, ring_share_cv
from .queues import (
    QueueMetrics, erlang_b, erlang_c, hyperexponential_scv, littles_law_L, md1, mg1, mm1,
    mm1_sojourn_quantile, mmc, mmc_wait_tail, mmck, servers_for_wait_probability,
)
from .reliability import (
    availability_from_mtbf, availability_k_of_n, availability_parallel, availability_serial,
    fanout_tail_probability, per_leaf_quantile_for,
)

__all__ = [
    "QueueMetrics", "NetworkMetrics", "MVAResult", "erlang_b", "erlang_c",
    "mm1", "mm1_sojourn_quantile", "mmc", "mmc_wait_tail", "mmck", "mg1", "md1",
    "hyperexponential_scv", "jackson", "tandem", "mva", "littles_law_L",
    "availability_serial", "availability_parallel", "availability_k_of_n",
    "availability_from_mtbf", "k_of_n", "majority_quorum", "steady_state", "nines_downtime",
    "fanout_tail_probability", "per_leaf_quantile_for",
    "servers_for_wait_probability",
    "random_routing_response_time", "round_robin_response_time", "supermarket_response_time",
    "supermarket_tail", "ring_share_cv", "mod_n_keys_moved", "consistent_keys_moved",
    "catch_up_time", "lag_before_reassignment", "auto_commit_duplicates", "acks_all_write_availability",
    "projection_lag_mean", "projection_lag_quantile", "stale_read_probability", "token_wait", "replay_time",
    "saga_outcomes", "saga_expected_compensations", "saga_messages", "saga_latency",
    "recovery_time", "replayed_events", "expected_recovery_time", "conflict_probability",
    "lost_update_probability", "conflict_ratio",
    "zipf_popularity", "che_characteristic_time", "lru_hit_ratio", "fifo_hit_ratio", "lfu_hit_ratio",
    "ttl_hit_ratio_after_write", "ttl_hit_ratio_after_access", "ttl_hit_ratio", "stampede_origin_loads",
]
