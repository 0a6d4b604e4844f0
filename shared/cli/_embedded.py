"""Options and set-up shared by the sub-commands that run the embedded pipeline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shared.bootstrap import MissingSettingError, pii_key_from
from shared.cli.errors import UsageError
from shared.pipeline.sealing import SealError
from shared.reference import ReferenceDataError
from shared.runtime.local_log import LogOwnerMismatch, PartitionsMismatch
from shared.runtime.log_files import LogBehindStore, LogFileMissing
from shared.runtime.session import EmbeddedSession, SessionOptions
from shared.topology import DEAD_LETTER_KEY_FILE_SETTING

__all__ = ["add_db_option", "add_reference_option", "open_session"]


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        required=True,
        type=Path,
        metavar="PATH",
        help="the embedded store (a SQLite file; its event log is PATH.eventlog)",
    )


def add_reference_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reference", type=Path, metavar="DIR", help="stores.csv, products.csv, fx_rates.csv (default: the demo set)"
    )


def open_session(
    args: argparse.Namespace,
    *,
    demo: bool = False,
    partitions: int = 4,
    crash_rate: float = 0.0,
    must_exist: bool = False,
) -> EmbeddedSession:
    """Open the session or raise a one-line `UsageError` naming what is wrong."""
    if must_exist and not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
    if args.db.exists() and not args.db.is_file():
        raise UsageError(f"{args.db}: not a file")
    reference = getattr(args, "reference", None)
    if reference is not None and not reference.is_dir():
        raise UsageError(f"--reference {reference}: no such folder")
    try:
        key = pii_key_from(os.environ, demo=demo)
        key_file = os.environ.get(DEAD_LETTER_KEY_FILE_SETTING) or None
        options = SessionOptions(
            args.db, key, partitions, reference, crash_rate, getattr(args, "seed", 0),
            Path(key_file) if key_file else None,
        )  # fmt: skip
        session = EmbeddedSession(options)
    except (
        MissingSettingError,
        ReferenceDataError,
        SealError,
        PartitionsMismatch,
        LogOwnerMismatch,
        LogFileMissing,
        LogBehindStore,
    ) as exc:
        raise UsageError(str(exc)) from None
    if session.migrated:
        sys.stderr.write(
            f"pulse: moved the event log ({session.migrated:,} messages) out of {args.db} into"
            f" {session.log.path.name} beside it; copy or remove the two files together\n"
        )
    return session
