"""``kind: kv_store`` — a replicated key-value store in zones, CP (Raft) or AP (Dynamo).

``spec.py`` is the pure model (what the YAML may say), ``mesh.py`` the network as the
store's own messages see it, ``raft.py`` CP mode (leader, elections, majority rounds),
``dynamo.py`` AP mode (quorums, last-writer-wins, hints, read repair, anti-entropy),
``runtime.py`` the callers, coordinators, history and metrics, and ``verdict.py`` the
consistency check of the history when the run ends.
"""
