"""``kind: load_balancer``: its spec (``spec.py``, pure data) and its SimPy runtime (``runtime.py``)."""
