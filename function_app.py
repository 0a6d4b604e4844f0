"""The Azure Functions app (Python v2 model): it only registers the blueprints of `functions/`.

Importing it reads no setting and opens no connection: each worker builds its
settings, store and handlers on the first invocation (`functions._runtime`).
"""

import azure.functions as func

from functions import alerts, api, ingest, outputs, page, raw_zone, rollups

__all__ = ["app"]

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (ingest.bp, rollups.bp, outputs.bp, api.bp, page.bp, raw_zone.bp, alerts.bp):
    app.register_blueprint(blueprint)
