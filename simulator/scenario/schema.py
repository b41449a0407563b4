"""The JSON Schema of scenario files, for editors (yaml-language-server) and other tools.

Generated from the same pydantic models the loader validates with, so it cannot drift
from what sdsim accepts; a test checks the committed copy is current. Because any value
may be a ``${param}`` reference, every number, integer and boolean also accepts such a
string.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Scenario

PARAM_REF = {"type": "string", "pattern": r"^\$\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}$",
             "description": "a ${param} reference"}
SCHEMA_ID = "https://sdsim.invalid/scenario.schema.json"


def _allow_params(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _allow_params(v) for k, v in node.items()}
        if node.get("type") in ("number", "integer", "boolean"):
            annotations = {k: node.pop(k) for k in ("title", "description", "default") if k in node}
            return {"anyOf": [node, PARAM_REF], **annotations}
        return node
    if isinstance(node, list):
        return [_allow_params(v) for v in node]
    return node


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    schema = _allow_params(Scenario.model_json_schema(by_alias=True))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def scenario_schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"
