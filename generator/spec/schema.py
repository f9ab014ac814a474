"""JSON Schema of the pipeline file, exported from the pydantic models (never written by hand).

The spec model requires keys that `_defaults.yaml` may supply, so the exported schema keeps the
shape and the types but leaves required-ness to `pipectl validate`; only union tags stay required.
"""

from __future__ import annotations

import json
from typing import Any

from generator.spec.models import PipelineSpec

SCHEMA_ID = "https://pipectl.dev/schema/pipeline.json"


def _relax(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _relax(value) for key, value in node.items() if key != "required"}
        if "required" in node and "type" in node.get("properties", {}):
            out["required"] = ["type"]
        return out
    if isinstance(node, list):
        return [_relax(item) for item in node]
    return node


def pipeline_schema() -> dict[str, Any]:
    schema: dict[str, Any] = _relax(PipelineSpec.model_json_schema())
    overrides = dict(schema["properties"])
    schema["properties"]["environments"] = {
        "type": "object",
        "title": "Environments",
        "description": "Per-environment overrides merged over this file; each key names an environment.",
        "propertyNames": {"pattern": "^[a-z][a-z0-9]{0,9}$"},
        "additionalProperties": {
            "anyOf": [
                {"type": "object", "properties": overrides, "additionalProperties": False},
                {"type": "null"},
            ]
        },
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "pipectl pipeline file"
    return schema


def schema_text() -> str:
    return json.dumps(pipeline_schema(), indent=2, sort_keys=True) + "\n"
