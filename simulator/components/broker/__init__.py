"""``kind: broker`` — a message broker with Kafka's semantics (topics, partitions, consumer and share groups).

``spec.py`` is the pure model (what the YAML may say); ``runtime.py`` the SimPy behaviour,
built from small modules: ``log.py`` (partitions), ``replication.py`` (nodes, copies,
failover), ``members.py`` (members and their pull loop), ``group.py`` (consumer groups),
``share.py`` (share groups), ``dedupe.py`` (an idempotent group's dedupe table),
``ledger.py`` (what each group counts) and ``frames.py``
(the per-group and per-topic tables with names, after a run).
"""
