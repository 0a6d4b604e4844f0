"""The README's `pulse` examples run as written, today (whatever today is), in a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def _examples() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The `pulse` command line", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section has one runnable block (options are in a `text` block)"
    return str(blocks[0])


def test_the_readme_pulse_examples_run_as_written(tmp_path: Path) -> None:
    script = _examples()
    assert "source .venv/bin/activate" in script and "pulse ingest" in script and "pulse kpis" in script
    (tmp_path / ".venv").symlink_to(VENV)
    env = {k: v for k, v in os.environ.items() if k not in ("PII_HMAC_KEY", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # `pulse` comes from the activation, as for a new user
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "hint" not in done.stdout  # nothing refused for its time
    summaries = [orjson.loads(part) for part in re.findall(r"^\{\n.*?^\}$", done.stdout, flags=re.S | re.M)]
    ingests = [s for s in summaries if "writes_per_event" in s]
    assert [s["received"] for s in ingests] == [20000, 2000]
    assert all(s["dead_letters_by_reason"].keys() <= {"invalid_field", "missing_field", "not_json", "unexpected_field",
               "invalid_utf8", "empty_body", "not_an_object", "unknown_event_type", "unknown_schema_version"}
               for s in ingests)  # fmt: skip
    out = done.stdout.replace('": "', '":"')  # json is indented, jsonl compact
    assert '"scope":"chain"' in out and '"scope":"region"' in out and '"key":"DE001"' in out
    assert out.count('"reason_code":"invalid_field"') == 3  # `dlq list ... | head -n 3`
