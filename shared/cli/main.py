"""Entry point of the `pulse` console script.

Each sub-command lives in its own module exposing ``register(subparsers)``, which
adds its parser and sets ``func`` to a callable ``(args) -> int``. Exit status: 0 when
the command did its job (also when events were dead-lettered), 2 with a one-line
error for an unusable argument or file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence

from shared.cli.errors import UsageError
from shared.runtime.retry import DeadlineExceeded

__all__ = ["UsageError", "main", "store_error"]

_NOT_COMMANDS = frozenset({"main", "errors"})


def command_modules() -> list[str]:
    """Every public module of this package but `main` and `errors` is a sub-command."""
    package = sys.modules[__package__ or "shared.cli"]
    names = (m.name for m in pkgutil.iter_modules(package.__path__))
    return sorted(n for n in names if not n.startswith("_") and n not in _NOT_COMMANDS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or of only the one `argv` names (the others are not imported:
    ~0.2 s of start-up that `pulse ingest` and every other command would wait for)."""
    parser = _Parser(prog="pulse", description="Retail Pulse: exact real-time retail KPIs.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    names = command_modules()
    named = next((arg for arg in argv or () if not arg.startswith("-")), None)
    for name in [named] if named in names else names:
        importlib.import_module(f"shared.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args: argparse.Namespace | None = None
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(argv).parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        return _fail(str(exc))
    except DeadlineExceeded as exc:
        sys.stderr.write("\n")  # end the progress line the run was printing
        return _fail(f"--timeout: {exc}")
    except sqlite3.Error as exc:  # read-only file, disk full, I/O error: the store's words, one line
        return _fail(f"{getattr(args, 'db', None) or 'the store'}: {store_error(exc)}")
    except BrokenPipeError:  # the reader stopped early (`pulse kpis | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def _fail(message: str) -> int:
    print(f"pulse: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def store_error(exc: sqlite3.Error) -> str:
    """What SQLite said, with the real cause of a failed rollback ("cannot rollback" hides a full disk)."""
    cause: BaseException | None = exc
    while cause is not None and "cannot rollback" in str(cause):
        cause = cause.__context__ or cause.__cause__
    found = cause if isinstance(cause, sqlite3.Error) else exc
    words = str(found)
    if "readonly" in words:
        return f"the store is read-only ({words}); pulse needs to write to it, also to read KPIs"
    return words


if __name__ == "__main__":
    sys.exit(main())
