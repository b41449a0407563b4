"""``publish:`` — an asynchronous call: the callee's work starts in a process of its own and the caller goes on.

``via: outbox`` (a service publishing to a broker topic) writes the message to the
service's transactional outbox instead, and the outbox's relay produces it later
(:mod:`simulator.components.service.outbox`): a broker outage then delays the message
instead of losing it, and the operation never waits for the broker.
"""

from __future__ import annotations

from typing import Literal

from ..core.request import OK
from .base import StepKind, StepSpec, Target


class PublishStep(StepSpec):
    """Asynchronous publish: the caller does not wait; the callee's work still happens.

    ``via``: ``direct`` (the default) sends it now; ``outbox`` writes it to the service's
    outbox (its ``outbox:`` setting), in the operation's transaction, for the relay to produce.
    """

    publish: Target
    via: Literal["direct", "outbox"] = "direct"


class Publish(StepKind):
    name = "publish"
    spec = PublishStep

    def targets(self, spec: PublishStep):
        yield spec.publish, False, "publish"

    def check(self, spec: PublishStep, path: tuple, scenario) -> list[tuple[tuple, str]]:
        """``via: outbox`` needs a service with an ``outbox:`` setting, publishing to a broker's topic."""
        if spec.via != "outbox":
            return []
        component = scenario.components.get(path[1])
        problems = []
        if component is None or component.kind != "service":
            kind = "this component" if component is None else f"a {component.kind}"
            problems.append((path + ("via",), f"only a service has an outbox ({path[1]!r} is {kind}): "
                                              "publish directly (remove via: outbox)"))
        elif getattr(component, "outbox", None) is None:
            problems.append((path + ("via",), f"service {path[1]!r} has no outbox: give it one "
                                              "(outbox: {poll_interval: 100ms}) or remove via: outbox"))
        target = scenario.components.get(spec.publish.partition(".")[0])
        if target is not None and target.kind != "broker":
            problems.append((path + ("publish",), f"an outbox relays to a message broker, and "
                                                  f"{spec.publish.partition('.')[0]!r} is a {target.kind} "
                                                  "(publish to a broker's topic, or remove via: outbox)"))
        return problems

    def compile(self, spec: PublishStep, ctx):
        call = ctx.call(spec.publish)
        if spec.via == "outbox":
            return _via_outbox(spec, ctx, call)
        detach, guarded = ctx.detach, ctx.guarded

        def publish(request):
            detach(guarded(call(request)))  # nobody waits for it: its end needs no event
            return OK
            yield  # a generator that never waits

        return publish


def _via_outbox(spec: PublishStep, ctx, produce):
    """The step writing a row of this service's outbox; the row's id comes from the target broker."""
    components = ctx.world.components
    write = components[ctx.component].outbox.write
    new_id = components[spec.publish.partition(".")[0]].new_message_id

    def publish_via_outbox(request):
        write(request, new_id(), produce)
        return OK
        yield  # a generator that never waits

    return publish_via_outbox


KIND = Publish()
