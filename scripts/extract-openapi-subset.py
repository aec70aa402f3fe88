#!/usr/bin/env python3
"""Extracts from OpenAI's OpenAPI spec the component schemas the mock's answers must follow,
as a JSON Schema (2020-12) document any standard validator applies.

    scripts/extract-openapi-subset.py SPEC.json [OUT.json]

SPEC is openai/openai-openapi's `openapi.json` (MIT). OUT defaults to
tests/fixtures/openai-openapi-2026-08-subset.json. The output keeps the spec's own layout
(`components.schemas.NAME`, so every `$ref` resolves unchanged) and holds the transitive closure
of ROOTS, with three changes that do not alter what validates:
- OpenAPI's `nullable: true` becomes a JSON Schema type union (`type: [T, "null"]`, `null` added
  to an `enum`, or an `anyOf` with `{"type": "null"}` around a `$ref`/`oneOf`/`anyOf`/`allOf`);
- annotations no validator reads are dropped (description, title, example(s), default,
  deprecated, discriminator, x-* extensions, and `format`, which 2020-12 does not assert);
- a `$schema` and a `source` note are added.
Standard library only; the output is deterministic (sorted keys), so a refresh diffs cleanly.
"""

import json
import sys
from pathlib import Path

ROOTS = [
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "Response",
    "ResponseStreamEvent",
    "CreateEmbeddingResponse",
    "ListModelsResponse",
    "Model",
    "Batch",
    "ListBatchesResponse",
    "OpenAIFile",
    "ErrorResponse",
]

# Keywords whose value is a map of name -> schema, a schema, or a list of schemas.
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "dependentSchemas"}
SCHEMA_ONE = {
    "items", "additionalProperties", "not", "if", "then", "else", "contains",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
}
SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
ANNOTATIONS = {
    "description", "title", "example", "examples", "default", "deprecated", "discriminator",
    "format", "readOnly", "writeOnly", "$comment",
}
# The keywords that constrain a value; moved together into the non-null branch of a union.
COMPOSITES = {"$ref", "anyOf", "oneOf", "allOf", "not", "const", "enum"}

PREFIX = "#/components/schemas/"


def clean(schema):
    """A copy of `schema` without annotations and with `nullable` turned into a union."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        raise SystemExit(f"not a schema: {schema!r:.80}")
    out = {}
    for key, value in schema.items():
        if key in ANNOTATIONS or key.startswith("x-") or key == "nullable":
            continue
        if key in SCHEMA_MAPS:
            out[key] = {name: clean(s) for name, s in value.items()}
        elif key in SCHEMA_ONE:
            out[key] = clean(value)
        elif key in SCHEMA_LISTS:
            out[key] = [clean(s) for s in value]
        else:
            out[key] = value
    if schema.get("nullable") is True:
        out = nullable(out)
    return out


def nullable(s):
    """`s` widened to also accept null, the way OpenAPI 3.0's `nullable: true` meant."""
    t = s.get("type")
    if isinstance(t, str) and not (COMPOSITES - {"enum"}) & s.keys():
        s = dict(s, type=[t, "null"])
        if "enum" in s and None not in s["enum"]:
            s["enum"] = s["enum"] + [None]
        return s
    if isinstance(t, list):
        return dict(s, type=t + ["null"]) if "null" not in t else s
    if not s:
        return s  # no constraint at all: null is already allowed
    return {"anyOf": [s, {"type": "null"}]}


def refs(x, found):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "$ref":
                if not v.startswith(PREFIX):
                    raise SystemExit(f"unexpected $ref {v}")
                found.add(v[len(PREFIX):])
            else:
                refs(v, found)
    elif isinstance(x, list):
        for v in x:
            refs(v, found)


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    spec = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2] if len(sys.argv) == 3 else "tests/fixtures/openai-openapi-2026-08-subset.json")
    schemas = spec["components"]["schemas"]
    kept = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        if name not in schemas:
            raise SystemExit(f"{name} is not in the spec's components.schemas")
        kept[name] = clean(schemas[name])
        found = set()
        refs(kept[name], found)
        todo.extend(sorted(found - kept.keys()))
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "source": {
            "spec": "openai/openai-openapi openapi.json, commit of 2026-08-21 "
                    f"(info.version {spec['info']['version']})",
            "license": "MIT (OpenAI); see tests/fixtures/OPENAI-OPENAPI-LICENSE.md",
            "generated_by": "scripts/extract-openapi-subset.py",
            "roots": ROOTS,
        },
        "components": {"schemas": dict(sorted(kept.items()))},
    }
    out_path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"{out_path}: {len(kept)} schemas, {out_path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
