"""Reference data: stores, products and FX rates as SCD type 2 dimensions.

Pure Python (csv, decimal, zoneinfo): loaded from a folder of CSV files whose format
is in `docs/contracts.md` plus the optional columns documented in this package's README.
"""

from shared.reference.dimension import Dimension, OverlappingVersionsError
from shared.reference.errors import ReferenceDataError
from shared.reference.fx import FxRates
from shared.reference.loader import (
    FX_COLUMNS,
    PRODUCT_COLUMNS,
    PRODUCT_OPTIONAL_COLUMNS,
    STORE_COLUMNS,
    STORE_OPTIONAL_COLUMNS,
    ReferenceData,
    demo_reference_dir,
    load_reference,
)
from shared.reference.models import Channel, Product, Store

__all__ = [
    "FX_COLUMNS",
    "PRODUCT_COLUMNS",
    "PRODUCT_OPTIONAL_COLUMNS",
    "STORE_COLUMNS",
    "STORE_OPTIONAL_COLUMNS",
    "Channel",
    "Dimension",
    "FxRates",
    "OverlappingVersionsError",
    "Product",
    "ReferenceData",
    "ReferenceDataError",
    "Store",
    "demo_reference_dir",
    "load_reference",
]
