"""Kinds defined outside ``simulator/``, as a plug-in would: they prove the registry is open."""
