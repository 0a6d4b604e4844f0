"""`pulse schemas [--out DIR]`: write the JSON Schemas producers validate against."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from shared.contracts.schemas import SCHEMA_DIR, write_schemas

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the `schemas` sub-command."""
    parser = subparsers.add_parser("schemas", help="write the JSON Schemas of the wire contracts")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help=f"folder (default: {SCHEMA_DIR})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write one schema file per source and list them."""
    for path in write_schemas(args.out):
        print(path)
    return 0
