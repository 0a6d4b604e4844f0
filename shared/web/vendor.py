"""``python -m shared.web.vendor``: copy Chart.js from ``node_modules`` into ``shared/web/static/vendor/``.

The Function App package has no ``node_modules``; run this after ``npm ci`` and
before packaging, so ``/api/live`` serves the same chart library as the local demo.
The licence file travels with it (Chart.js is MIT-licensed).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from shared.web.assets import CHART_FILE, STATIC_DIR

__all__ = ["main", "vendor_chart_library"]


def vendor_chart_library(node_modules: Path, dest: Path = STATIC_DIR / "vendor") -> list[Path]:
    """Copy the UMD build and licence of Chart.js; the files written. FileNotFoundError if not installed."""
    package = node_modules / "chart.js"
    sources = [package / "dist" / CHART_FILE, package / "LICENSE.md"]
    missing = [str(path) for path in sources if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"Chart.js is not installed (missing {', '.join(missing)}); run `npm ci` first")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        target = dest / ("chart.js-LICENSE.md" if source.suffix == ".md" else source.name)
        shutil.copyfile(source, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """Copy from ``./node_modules`` (or the folder given); exit 1 with a one-line reason if absent."""
    args = sys.argv[1:] if argv is None else argv
    node_modules = Path(args[0]) if args else Path("node_modules")
    try:
        for path in vendor_chart_library(node_modules):
            print(path)
    except FileNotFoundError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
