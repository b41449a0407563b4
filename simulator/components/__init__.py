"""Runtime components, one module per kind, registered under their YAML ``kind:``."""

from .base import REGISTRY, Component, register
from .database import Database
from .service import Service

__all__ = ["REGISTRY", "Component", "Database", "Service", "register"]
