"""`pulse powerbi create-dataset | export-dataset`: the Power BI datasets of Retail Pulse, from code.

``create-dataset`` signs in with `DefaultAzureCredential` (``az login`` locally, the
managed identity in Azure), creates the tiles dataset (``defaultMode: Streaming``)
and the live, history and history standby push datasets (``defaultMode: Push``) in a
workspace unless a dataset of that name exists,
and prints their ids as the settings to set. ``export-dataset`` writes the
definition as JSON (`docs/powerbi/dataset.json`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from shared.cli._io import print_json
from shared.cli.errors import UsageError
from shared.sinks.config import (
    POWERBI_API_BASE_SETTING,
    POWERBI_GROUP_SETTING,
    POWERBI_HISTORY_DATASET_SETTING,
    POWERBI_HISTORY_STANDBY_SETTING,
    POWERBI_LIVE_DATASET_SETTING,
    POWERBI_TILES_DATASET_SETTING,
)
from shared.sinks.dataset import DATASETS, export_json
from shared.sinks.port import SinkError
from shared.sinks.powerbi_push import DEFAULT_API_BASE, PowerBiRestClient, default_credential

__all__ = ["create_datasets", "register", "run"]

_SETTING_OF = {
    "tiles": POWERBI_TILES_DATASET_SETTING,
    "live": POWERBI_LIVE_DATASET_SETTING,
    "history": POWERBI_HISTORY_DATASET_SETTING,
    "history-standby": POWERBI_HISTORY_STANDBY_SETTING,
}


def register(subparsers: Any) -> None:
    """Add `powerbi` with its two sub-commands."""
    parser = subparsers.add_parser("powerbi", help="create or export the Power BI push datasets")
    commands = parser.add_subparsers(dest="powerbi_command", required=True)
    create = commands.add_parser("create-dataset", help="create the push datasets and tables in a workspace")
    create.add_argument(
        "--group",
        default=os.environ.get(POWERBI_GROUP_SETTING),
        help=f"workspace (group) id; default: ${POWERBI_GROUP_SETTING}",
    )
    create.add_argument("--dataset", choices=[*DATASETS, "all"], default="all", help="which dataset (default: all)")
    create.add_argument(
        "--api-base",
        default=os.environ.get(POWERBI_API_BASE_SETTING, DEFAULT_API_BASE),
        help=f"REST API host (default {DEFAULT_API_BASE})",
    )
    create.set_defaults(func=run)
    export = commands.add_parser("export-dataset", help="write the dataset definition as JSON")
    export.add_argument("--out", help="file to write (default: stdout)")
    export.set_defaults(func=run)
    parser.set_defaults(func=run)


def create_datasets(client: PowerBiRestClient, names: list[str]) -> dict[str, dict[str, Any]]:
    """Ensure each named dataset exists; per name: id, name, whether it was created, the setting to set."""
    out = {}
    for name in names:
        dataset, created = client.ensure_dataset(DATASETS[name])
        out[name] = {"id": dataset["id"], "name": dataset.get("name"), "created": created, "setting": _SETTING_OF[name]}
    return out


def run(args: argparse.Namespace) -> int:
    """Dispatch on the sub-command; a Power BI failure is one line on stderr and exit status 1."""
    if args.powerbi_command == "export-dataset":
        if args.out:
            Path(args.out).write_bytes(export_json())
        else:
            sys.stdout.buffer.write(export_json())
        return 0
    if not args.group:
        raise UsageError(f"--group is required (or set {POWERBI_GROUP_SETTING})")
    names = list(DATASETS) if args.dataset == "all" else [args.dataset]
    try:
        client = PowerBiRestClient(default_credential(), group_id=args.group, api_base=args.api_base)
        print_json(create_datasets(client, names))
    except (SinkError, ValueError) as error:
        print(f"pulse: error: {error}", file=sys.stderr)
        return 1
    return 0
