"""``kind: registry`` — service discovery: registration, health (Consul TTL or HTTP checks, Eureka leases,
DNS records) and the callers' cached views, so a crashed replica keeps receiving calls until its removal
reaches them.

``spec.py`` is the pure model, ``runtime.py`` the registry's state and its record table,
``consul.py`` and ``eureka.py`` the modes, ``views.py`` the client caches and the picker a
discovered service's replica set uses.
"""
