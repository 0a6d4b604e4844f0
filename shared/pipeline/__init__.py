"""Pipeline steps of the ingest path: decode and validate, dead-letter, enrich."""
