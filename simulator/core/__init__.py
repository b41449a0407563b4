"""The kernel: the vocabulary the engine, the components, the faults and the metrics share.

A request and its statuses (:mod:`.request`), random streams (:mod:`.rng`) and samplers
(:mod:`.sampling`), rate profiles (:mod:`.profile`), how steps compose as SimPy
generators (:mod:`.process`), and what a component or a fault may ask of the world it
runs in (:mod:`.context`). It imports nothing above it; everything runtime imports it.
"""
