"""The host: builds a runnable world from a scenario (:mod:`.build`) and runs it (:mod:`.world`).

It is the one place that knows every runtime kind (components and faults, through their
registries), the clients that generate load (:mod:`.clients`) and the network between
zones (:mod:`.network`). :func:`simulator.simulate` sits on top of it.
"""
