"""``kind: echo`` — a plug-in component kind: answers every operation after a constant delay.

Its folder has the same two files as a built-in kind: ``spec.py`` (pure data) and
``runtime.py`` (SimPy). Register it with ``register_kind("echo", "plugins.echo")`` or the
entry point ``[sdsim.kinds] echo = plugins.echo``.
"""
