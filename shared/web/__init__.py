"""The live web page: its data (`snapshot`), its files (`assets`) and the local server with SSE (`server`).

No Azure imports: the Function App's HTTP API serves the same snapshot and files.
"""

from shared.web.assets import AssetNotFound, page_html, read_asset
from shared.web.changes import ChangeSignal, FeedProbe
from shared.web.server import LiveServer, ServerOptions
from shared.web.snapshot import UnknownFilter, snapshot, snapshot_json

__all__ = [
    "AssetNotFound",
    "ChangeSignal",
    "FeedProbe",
    "LiveServer",
    "ServerOptions",
    "UnknownFilter",
    "page_html",
    "read_asset",
    "snapshot",
    "snapshot_json",
]
