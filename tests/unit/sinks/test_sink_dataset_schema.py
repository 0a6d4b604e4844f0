"""Dataset definitions are checked against Power BI's limits when defined; the JSON export stays current."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from shared.cli.main import main
from shared.sinks.dataset import DATASETS, DELTA_COUNTER_COLUMNS, HISTORY_DATASET, KPI_DELTA, KPI_SNAPSHOT, export_json
from shared.sinks.rows import DELTA_MEASURES
from shared.sinks.schema import ColumnSpec, DatasetSpec, RowSchemaError, SchemaError, TableSpec

EXPORT = Path(__file__).resolve().parents[3] / "docs" / "powerbi" / "dataset.json"


def test_the_shipped_json_export_is_current() -> None:
    assert EXPORT.read_bytes() == export_json(), "run: pulse powerbi export-dataset --out docs/powerbi/dataset.json"


def test_the_export_command_writes_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "dataset.json"
    assert main(["powerbi", "export-dataset", "--out", str(out)]) == 0
    assert out.read_bytes() == export_json()


def test_create_dataset_without_a_workspace_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERBI_GROUP_ID", raising=False)
    assert main(["powerbi", "create-dataset"]) == 2


def test_the_rest_bodies_have_the_documented_modes_and_typed_columns() -> None:
    # Not PushStreaming: a hybrid dataset's streaming tiles fail on any request over 15 KB.
    assert {name: spec.default_mode for name, spec in DATASETS.items()} == {
        "tiles": "Streaming",
        "live": "Push",
        "history": "Push",
        "history-standby": "Push",
    }
    assert DATASETS["tiles"].create_query() == "" and DATASETS["history"].create_query().endswith("=None")
    body = HISTORY_DATASET.to_rest()
    assert body["tables"][0]["name"] == "kpi_delta"
    types = {c["name"]: c["dataType"] for c in body["tables"][0]["columns"]}
    assert types["window"] == "DateTime" and types["net_sales_cents"] == "Int64" and types["scope"] == "String"
    assert {spec.retention for spec in DATASETS.values()} == {"basicFIFO", "None"}


def test_every_delta_measure_has_an_integer_column() -> None:
    measure_columns = {column for column, _ in DELTA_MEASURES} | {"net_sales_cents"}
    assert measure_columns == {name for name, _ in DELTA_COUNTER_COLUMNS}
    assert all(KPI_DELTA.columns[KPI_DELTA.column_names.index(c)].data_type == "Int64" for c in measure_columns)


def test_more_than_75_columns_is_refused_at_definition_time() -> None:
    columns = tuple(ColumnSpec(f"c{i}", "Int64") for i in range(76))
    with pytest.raises(SchemaError, match="76 columns; Power BI allows 75"):
        TableSpec("wide", columns)


def test_string_columns_are_capped_at_4000_characters() -> None:
    with pytest.raises(SchemaError, match=r"max_length must be 1\.\.4000"):
        ColumnSpec("note", "String", max_length=4001)
    assert ColumnSpec("note", "String").max_length == 4000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ColumnSpec("bad name", "Int64"), "must match"),
        (lambda: ColumnSpec("x", "Decimal"), "unknown data type"),  # type: ignore[arg-type]
        (lambda: ColumnSpec("n", "Int64", max_length=3), "String columns only"),
        (lambda: TableSpec("t", (ColumnSpec("a", "Int64"), ColumnSpec("A", "Double"))), "appears twice"),
        (lambda: TableSpec("t", ()), "has no columns"),
        (lambda: DatasetSpec("d", ()), "1..75 tables"),
        (lambda: DatasetSpec("d", (KPI_SNAPSHOT, KPI_SNAPSHOT)), "two tables of the same name"),
        (lambda: DatasetSpec("d", (KPI_SNAPSHOT,), retention="forever"), "retention"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_name_what_is_wrong(make: object, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"scope": "store", "nope": 1}, "has no column 'nope'"),
        ({"transactions": 1.5}, "expected a 64-bit integer"),
        ({"transactions": True}, "expected a 64-bit integer"),
        ({"net_sales": "12.30"}, "expected a number"),
        ({"as_of": "2026-11-26 10:00"}, "RFC 3339"),
        ({"scope": "x" * 17}, "at most 16 allowed"),
        ({"key": "k" * 1001}, "at most 1000 allowed"),
    ],
)
def test_rows_are_checked_against_their_table(row: dict[str, object], message: str) -> None:
    with pytest.raises(RowSchemaError, match=message):
        KPI_SNAPSHOT.check_row(row)


def test_a_valid_row_with_blanks_passes() -> None:
    KPI_SNAPSHOT.check_row(
        {"scope": "chain", "key": "ALL", "net_sales": 12.3, "aov": None, "as_of": "2026-11-26T10:05:03.120Z"}
    )


def test_the_export_describes_every_column() -> None:
    document = orjson.loads(export_json())
    for dataset in document["datasets"]:
        for table in dataset["body"]["tables"]:
            described = dataset["columns"][table["name"]]
            assert all(described[c["name"]] for c in table["columns"])
