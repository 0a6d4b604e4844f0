"""Entry point of the `pulse` console script.

Each sub-command lives in its own module exposing ``register(subparsers)``, which
adds its parser and sets ``func`` to a callable ``(args) -> int``. Exit status: 0 when
the command did its job (also when events were dead-lettered), 2 with a one-line
error for an unusable argument or file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from shared.cli.errors import UsageError

__all__ = ["UsageError", "main"]

_NOT_COMMANDS = frozenset({"main", "errors"})


def command_modules() -> list[str]:
    """Every public module of this package but `main` and `errors` is a sub-command."""
    package = sys.modules[__package__ or "shared.cli"]
    names = (m.name for m in pkgutil.iter_modules(package.__path__))
    return sorted(n for n in names if not n.startswith("_") and n not in _NOT_COMMANDS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pulse", description="Retail Pulse: exact real-time retail KPIs.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in command_modules():
        importlib.import_module(f"shared.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        print(f"pulse: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
