"""The JSON Schema of scenario files, for editors (yaml-language-server) and other tools.

Generated from the same pydantic models the loader validates with, so it cannot drift
from what sdsim accepts; a test checks the committed copy is current. Because any value
may be a ``${param}`` reference, every number, integer, boolean and choice among names
(``policy: ${policy}``) also accepts such a string.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Scenario

PARAM_REF = {"type": "string", "pattern": r"^\$\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}$",
             "description": "a ${param} reference"}
SCHEMA_ID = "https://sdsim.invalid/scenario.schema.json"


INLINE_FORMS = {
    frozenset({"Const", "Exp"}): {"anyOf": [{"type": "string", "description": "inline, e.g. exp(3ms) or 5ms"},
                                            {"type": "number", "minimum": 0, "maximum": 0,
                                             "description": "0 (any other constant needs a unit: 5ms)"}]},
    frozenset({"UniformKeys", "ZipfKeys"}): {"anyOf": [{"type": "string", "description": "inline, e.g. zipf(s=1.1, n=1000)"}]},
    frozenset({"Param"}): {"anyOf": [{"type": ["number", "string", "boolean"], "description": "the default value"}]},
}


def _refs(node: dict) -> set[str]:
    options = node.get("oneOf") or ([node] if "$ref" in node else [])
    return {o["$ref"].rsplit("/", 1)[-1] for o in options if isinstance(o, dict) and "$ref" in o}


def _allow_inline(node: Any) -> Any:
    """Distributions, key laws and params may also be written inline as a string or scalar."""
    if isinstance(node, dict):
        node = {k: _allow_inline(v) for k, v in node.items()}
        refs = _refs(node)
        for marker, extra in INLINE_FORMS.items():
            if marker <= refs:
                annotations = {k: node.pop(k) for k in ("title", "description", "default") if k in node}
                return {"anyOf": extra["anyOf"] + [node], **annotations}
        return node
    if isinstance(node, list):
        return [_allow_inline(v) for v in node]
    return node


def _allow_params(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _allow_params(v) for k, v in node.items()}
        if node.get("type") in ("number", "integer", "boolean") or len(node.get("enum", ())) > 1:
            annotations = {k: node.pop(k) for k in ("title", "description", "default") if k in node}
            return {"anyOf": [node, PARAM_REF], **annotations}
        return node
    if isinstance(node, list):
        return [_allow_params(v) for v in node]
    return node


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    schema = _allow_inline(_allow_params(Scenario.model_json_schema(by_alias=True)))
    required = schema.pop("required", [])
    # a file that `extends` another inherits its required fields from there
    schema["if"] = {"required": ["extends"]}
    schema["else"] = {"required": required}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def scenario_schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"
