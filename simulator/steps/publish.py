"""``publish:`` — an asynchronous call: the callee's work starts in a process of its own and the caller goes on."""

from __future__ import annotations

from ..core.request import OK
from .base import StepKind, StepSpec, Target


class PublishStep(StepSpec):
    """Asynchronous publish: the caller does not wait; the callee's work still happens."""

    publish: Target


class Publish(StepKind):
    name = "publish"
    spec = PublishStep

    def targets(self, spec: PublishStep):
        yield spec.publish, False, "publish"

    def compile(self, spec: PublishStep, ctx):
        call = ctx.call(spec.publish)
        process, guarded = ctx.env.process, ctx.guarded

        def publish(request):
            process(guarded(call(request)))
            return OK
            yield  # a generator that never waits

        return publish


KIND = Publish()
