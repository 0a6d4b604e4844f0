"""The exact engine: pre-aggregation into base views, applied exactly once per document."""
