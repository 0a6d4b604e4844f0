"""Change-feed rollups: store -> region / channel -> chain, minute -> hour -> store-local day."""
