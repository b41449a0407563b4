"""``tries:`` — a plug-in call policy: make a failed call again, up to ``tries`` attempts in all.

It adds its field to every ``call:`` step (``CallPolicy.fields``) and sits at rank 40, so
each attempt is timed by ``timeout`` (rank 20) and ``fallback`` (rank 90) runs only after
the last one failed. Register it with ``register_policy("tries", "plugins.tries")`` or the
entry point ``[sdsim.policies] tries = plugins.tries``::

    steps:
      - call: db.read
        timeout: 4ms
        tries: 3
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.steps.base import CallPolicy


class Tries(CallPolicy):
    """Try the call up to ``tries`` times in all; the first attempt that succeeds ends it."""

    name = "tries"
    rank = 40
    fields = {"tries": (Annotated[int, Field(ge=1, le=10)] | None, None)}

    def applies(self, spec) -> bool:
        return (spec.tries or 1) > 1

    def wrap(self, call, spec, ctx):
        attempts = spec.tries

        def tried(request):
            for _ in range(attempts):
                status = yield from call(request)
                if not status:
                    break
            return status

        return tried


POLICY = Tries()
