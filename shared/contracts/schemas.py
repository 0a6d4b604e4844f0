"""JSON Schemas of the wire contracts, for producers: one file per source and version.

Regenerate the shipped files with ``pulse schemas`` (or ``python -m shared.contracts.schemas``);
a test fails when they are not current.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from shared.contracts.envelope import SCHEMA_VERSION
from shared.contracts.registry import event_adapter
from shared.topology import SOURCES, Source

__all__ = ["SCHEMA_DIR", "render_schema", "schema_file_name", "write_schemas"]

SCHEMA_DIR = Path(__file__).with_name("schemas")


def schema_file_name(source: Source) -> str:
    """E.g. ``txn.v1.schema.json``."""
    return f"{source}.v{SCHEMA_VERSION}.schema.json"


def render_schema(source: Source) -> bytes:
    """The JSON Schema (draft 2020-12) of one event body of `source`, as stable bytes."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:retail-pulse:contracts:{source}:v{SCHEMA_VERSION}",
        "title": f"Retail Pulse `{source}` event, schema_version {SCHEMA_VERSION}",
        **event_adapter(source).json_schema(mode="validation"),
    }
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every source's schema into `folder`; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in SOURCES:
        path = folder / schema_file_name(source)
        path.write_bytes(render_schema(source))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
