"""Sources: adapters that put events onto Event Hubs (the `pulse send` load generator)."""
