"""Prepare the local emulators for `func start`: write local.settings.json, create the Cosmos containers.

    docker compose up -d
    .venv/bin/python emulator/prepare.py            # local.settings.json + database and containers

`local.settings.json` is `local.settings.example.json` with its ``EmulatorValues``
(Azurite, the Event Hubs emulator and the Cosmos DB emulator connection strings,
all published development keys) in place of the identity-based settings. The
rollup triggers need the ``leases`` container before the host starts
(``create_lease_container_if_not_exists`` is false, as in Azure), so the database
and every container of ``shared.topology.CONTAINERS`` are created here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.settings import HOST_STORAGE, Settings, load_settings
from shared.stores import open_store
from shared.topology import (
    COSMOS_CONNECTION,
    DEAD_LETTER_KEY_FILE_SETTING,
    DEAD_LETTER_KEY_SETTING,
    EVENTHUB_CONNECTION,
)

__all__ = ["REPLACED_BY", "create_containers", "emulator_settings", "main"]

ROOT = Path(__file__).resolve().parent.parent
REPLACED_BY: dict[str, str] = {
    f"{HOST_STORAGE}__accountName": HOST_STORAGE,
    f"{EVENTHUB_CONNECTION}__fullyQualifiedNamespace": EVENTHUB_CONNECTION,
    f"{COSMOS_CONNECTION}__accountEndpoint": COSMOS_CONNECTION,
    DEAD_LETTER_KEY_SETTING: DEAD_LETTER_KEY_FILE_SETTING,
}
"""Identity-based setting -> the emulator connection-string setting that replaces it locally."""


def emulator_settings(example: Mapping[str, Any]) -> dict[str, Any]:
    """The example settings file with the emulator forms in place of the identity-based ones."""
    values = {k: v for k, v in example["Values"].items() if k not in REPLACED_BY}
    values |= example["EmulatorValues"]
    return {"IsEncrypted": False, "Values": values}


def create_containers(settings: Settings) -> list[str]:
    """Create the database and every container (the store does it for an emulator URL); their names."""
    from shared.topology import CONTAINERS

    with open_store(settings.document_store_url()):
        return sorted(CONTAINERS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "local.settings.json")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--no-containers", action="store_true", help="only write the settings file")
    args = parser.parse_args(argv)
    example = json.loads((ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    local = emulator_settings(example)
    if args.out.exists() and not args.force:
        print(f"{args.out} exists; keeping it (use --force to overwrite)", file=sys.stderr)
        local = json.loads(args.out.read_text(encoding="utf-8"))
    else:
        args.out.write_text(json.dumps(local, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    if not args.no_containers:
        names = create_containers(load_settings({k: str(v) for k, v in local["Values"].items()}))
        print(f"Cosmos DB emulator: database and containers ready ({', '.join(names)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
