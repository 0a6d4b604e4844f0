"""The page's files: the HTML (with its data URLs filled in), its script and styles, and the chart library.

No build step and no CDN: `static/` holds the page as written; Chart.js comes from
``node_modules/chart.js`` (installed by ``npm ci``) or, where there is no
``node_modules`` (the Function App package), from ``static/vendor/`` where
``python -m shared.web.vendor`` copies it. The Function App serves the same files::

    html = page_html(snapshot_url="/api/snapshot", events_url="", static_base="/api/live/static")
    body, content_type = read_asset("live.js")
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

__all__ = [
    "ASSET_TYPES",
    "CHART_FILE",
    "STATIC_DIR",
    "AssetNotFound",
    "chart_library_path",
    "page_html",
    "read_asset",
]

STATIC_DIR: Final = Path(__file__).with_name("static")
CHART_FILE: Final = "chart.umd.js"
"""The UMD build of Chart.js (defines ``window.Chart``), served as ``vendor/chart.umd.js``."""
_NODE_CHART: Final = Path("node_modules") / "chart.js" / "dist" / CHART_FILE
_REPO_ROOT: Final = Path(__file__).resolve().parents[2]

ASSET_TYPES: Final[dict[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class AssetNotFound(LookupError):
    """No such page file (or the chart library is not installed)."""


def chart_library_path(roots: tuple[Path, ...] = (_REPO_ROOT, Path.cwd())) -> Path | None:
    """Where Chart.js is: the vendored copy first, then ``node_modules`` under `roots`; None if absent."""
    vendored = STATIC_DIR / "vendor" / CHART_FILE
    if vendored.is_file():
        return vendored
    for root in roots:
        candidate = root / _NODE_CHART
        if candidate.is_file():
            return candidate
    return None


def read_asset(name: str) -> tuple[bytes, str]:
    """The bytes and content type of a page file: ``live.js``, ``alerts.js``, ``live.css``, ``vendor/chart.umd.js``."""
    path = _asset_path(name)
    if path is None or not path.is_file():
        raise AssetNotFound(name)
    content_type = ASSET_TYPES.get(path.suffix)
    if content_type is None:
        raise AssetNotFound(name)
    return path.read_bytes(), content_type


def _asset_path(name: str) -> Path | None:
    if name == f"vendor/{CHART_FILE}":
        return chart_library_path()
    if name not in {"live.js", "live.css", "alerts.js"}:  # a fixed list: no path from a request reaches the file system
        return None
    return STATIC_DIR / name


def page_html(
    *,
    snapshot_url: str = "/api/snapshot",
    events_url: str = "/api/events",
    static_base: str = "/static",
    poll_ms: int = 5000,
) -> str:
    """The page with its data URLs; an empty `events_url` makes it poll `snapshot_url` every `poll_ms`."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    values = {
        "snapshot_url": snapshot_url,
        "events_url": events_url,
        "static_base": static_base.rstrip("/"),
        "poll_ms": str(int(poll_ms)),
    }
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", html.escape(value, quote=True))
    return template
