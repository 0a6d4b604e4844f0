"""The raw zone: Event Hubs Capture files (Avro) read back for replay, backfill and reconciliation.

`layout` names capture blobs as Capture does, `avro_format` reads and writes the
documented Capture record, `port` is where blobs live (a folder here; Blob Storage
and Azurite through `shared.sources.capture_blob`), `reader` streams captured
messages in partition order, `export` writes what the embedded log accepted in the
same layout, `reconcile` proves every captured message was counted once.
"""
