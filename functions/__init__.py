"""Azure Functions blueprints, grouped by job: ingest, rollups, api. Registered by ``function_app.py``."""
