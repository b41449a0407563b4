"""Runtime components, one module per kind, registered under their YAML ``kind:``."""

from .base import REGISTRY, Component, register
from .cache import Cache
from .database import Database
from .load_balancer import LoadBalancer
from .service import Service

__all__ = ["REGISTRY", "Cache", "Component", "Database", "LoadBalancer", "Service", "register"]
