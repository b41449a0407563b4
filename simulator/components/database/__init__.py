"""``kind: database``: its spec (``spec.py``, pure data) and its SimPy runtime (``runtime.py``)."""
