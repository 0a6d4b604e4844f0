"""The `pulse` entry point: every sub-command listed, only the named one imported."""

from __future__ import annotations

import subprocess
import sys

from shared.cli.main import build_parser, command_modules


def test_the_help_lists_every_sub_command(capsys) -> None:  # type: ignore[no-untyped-def]
    parser = build_parser([])
    parser.print_help()
    listed = capsys.readouterr().out
    assert all(name in listed for name in command_modules())
    assert {"ingest", "demo", "kpis", "dlq"} <= set(command_modules())


def test_a_named_sub_command_imports_no_other() -> None:
    probe = (
        "import sys; from shared.cli.main import build_parser, command_modules;"
        "argv = ['validate', '--source', 'txn', 'f.jsonl']; args = build_parser(argv).parse_args(argv);"
        "print(args.command, sorted(n for n in command_modules() if 'shared.cli.' + n in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["validate", "['validate']"]
