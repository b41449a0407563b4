"""``kind: event_store`` — append-only streams per aggregate with optimistic concurrency and snapshots.

``spec.py`` is the pure model (the store's knobs and a service's ``event_sourced:``);
``runtime.py`` the store's SimPy behaviour; ``replay.py`` how an event-sourced service's
replicas stay down while they rebuild their state from the store.
"""
