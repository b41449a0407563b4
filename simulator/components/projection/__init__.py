"""``kind: projection`` — CQRS: a consumer of a broker topic that writes a read model, and reads against it.

``spec.py`` is the pure model (what the YAML may say), ``read_model.py`` the bookkeeping of
acknowledged and applied writes per key (pure Python), ``runtime.py`` the SimPy behaviour
and ``frames.py`` the per-read table after a run (the stale-read curve).
"""
