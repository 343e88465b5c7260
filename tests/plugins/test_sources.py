"""Registry sources: the CSV export and any SQL database, found through the `notifyd` entry points.

Real files in tmp_path and a real table on SQLite (and PostgreSQL when the suite has one).
"""

from __future__ import annotations

import csv
import gc
import pickle
from collections.abc import Generator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, create_engine, insert

from conftest import config_dict, person, write_registry
from notifyd import config, plugins
from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource
from notifyd.model import RawRow


@pytest.fixture(scope="module")
def csv_source() -> RegistrySource:
    return plugins.source_for(plugins.make_manager(), "csv")


@pytest.fixture(scope="module")
def sql_source() -> RegistrySource:
    return plugins.source_for(plugins.make_manager(), "sql")


def registry_config(path: Path, **registry: Any) -> Config:
    """conftest's config with the registry table's keys set (path stays `path`)."""
    data = config_dict(path)
    data["registry"].update(registry)
    return config.parse(data)


def read(source: RegistrySource, cfg: Config) -> list[RawRow]:
    return list(source.read(cfg))


def write_lines(path: Path, lines: list[list[str]], delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator="\n").writerows(lines)
    return path


# --- CSV: found, decoded, split -----------------------------------------------------------------


def test_the_built_in_sources_come_through_the_entry_point_group(
    csv_source: RegistrySource, sql_source: RegistrySource
) -> None:
    assert (csv_source.name, sql_source.name) == ("csv", "sql")
    assert type(csv_source).__module__ == "notifyd_plugins.registry.csv_source"
    assert type(sql_source).__module__ == "notifyd_plugins.registry.sql_source"


@pytest.mark.parametrize("bom", [False, True], ids=["utf-8", "utf-8-with-bom"])
def test_csv_in_utf8_with_or_without_bom(
    csv_source: RegistrySource, tmp_path: Path, bom: bool
) -> None:
    path = write_registry(
        tmp_path / "r.csv", [person(1, full_name="张伟"), person(2, full_name="Zoë")], bom=bom
    )
    rows = read(csv_source, registry_config(path))
    assert [(r.values["registry_id"], r.values["full_name"]) for r in rows] == [
        ("BLT-00001", "张伟"),
        ("BLT-00002", "Zoë"),
    ]
    assert rows[0].values == person(1, full_name="张伟")


def test_a_bom_is_not_part_of_the_first_header_even_when_encoding_is_plain_utf8(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    path = write_registry(tmp_path / "r.csv", [person(1)], bom=True)
    (row,) = read(csv_source, registry_config(path, encoding="utf-8"))
    assert row.values["registry_id"] == "BLT-00001"


def test_the_delimiter_the_operator_names(csv_source: RegistrySource, tmp_path: Path) -> None:
    path = write_registry(
        tmp_path / "r.csv", [person(1, full_name="Doe, Jane"), person(2)], delimiter=";"
    )
    rows = read(csv_source, registry_config(path, delimiter=";"))
    assert [r.values for r in rows] == [person(1, full_name="Doe, Jane"), person(2)]


INDONESIAN = {
    "registry_id": "No. Registrasi",
    "full_name": "Nama",
    "nationality": "Kewarganegaraan",
    "passport_number": "No. Paspor",
    "permit_type": "Jenis Izin",
    "permit_number": "Nomor Izin",
    "expiry_date": "Tanggal Berakhir",
    "phone": "Telepon",
}


def test_indonesian_headers_are_renamed_ignoring_case_and_spacing(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    header = [
        " no. registrasi",
        "NAMA",
        "Catatan",  # a column notifyd does not use
        "kewarganegaraan ",
        "No.  Paspor",
        "JENIS IZIN",
        "Nomor   Izin",
        "Tanggal Berakhir",
        "telepon",
    ]
    cells = [
        "BLT-1",
        "Siti Aminah",
        "ok",
        "Malaysia",
        "A123",
        "KITAS",
        "2C1-26",
        "31/12/2026",
        "0812",
    ]
    path = write_lines(tmp_path / "ekspor.csv", [header, cells], delimiter=";")
    (row,) = read(csv_source, registry_config(path, delimiter=";", columns=INDONESIAN))
    assert row.values == {
        "registry_id": "BLT-1",
        "full_name": "Siti Aminah",
        "nationality": "Malaysia",
        "passport_number": "A123",
        "permit_type": "KITAS",
        "permit_number": "2C1-26",
        "expiry_date": "31/12/2026",
        "phone": "0812",
    }


@pytest.mark.parametrize(
    ("columns", "expected"),
    [({}, "expiry_date"), ({"expiry_date": "Tanggal Berakhir"}, "Tanggal Berakhir")],
    ids=["default-name", "renamed"],
)
def test_a_missing_required_column_names_its_key_and_lists_the_header(
    csv_source: RegistrySource, tmp_path: Path, columns: dict[str, str], expected: str
) -> None:
    header = ["registry_id", "full_name", "nationality", "permit_number", "Tgl Habis", "phone"]
    path = write_lines(tmp_path / "r.csv", [header, ["1", "A", "AU", "P1", "2026-12-31", "0812"]])
    with pytest.raises(ConfigError) as info:
        read(csv_source, registry_config(path, columns=columns))
    assert info.value.key == "registry.columns.expiry_date"
    assert repr(expected) in info.value.problem
    for name in header:
        assert repr(name) in info.value.problem
    assert info.value.fix


def test_a_short_row_reads_its_missing_cells_as_empty(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    header = ["registry_id", "full_name", "nationality", "permit_number", "expiry_date", "phone"]
    path = write_lines(tmp_path / "r.csv", [header, ["1", "Ann", "AU", "P1"]])
    (row,) = read(csv_source, registry_config(path))
    assert row.values == {
        "registry_id": "1",
        "full_name": "Ann",
        "nationality": "AU",
        "permit_number": "P1",
        "expiry_date": "",
        "phone": "",
    }


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_the_csv_sources_make_pickles_and_builds_the_same_rows_elsewhere(
    csv_source: RegistrySource, tmp_path: Path, encoding: str
) -> None:
    """A first sync sends `make` to its worker processes with the raw lines: it must travel
    whole (raw text or cells, joined ids, a cell over the limit)."""
    rows = [person(1), person(2, full_name="Jane, Doe"), person(3, full_name="x" * 300)]
    path = write_registry(tmp_path / "r.csv", rows)
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    cfg = registry_config(
        path,
        encoding=encoding,
        max_field_chars=200,
        columns={"registry_id": ["registry_id", "passport_number"]},
    )
    lines = csv_source.read_lines(cfg)  # type: ignore[attr-defined]
    given = [g for ls, gs in (lines.raw or ()) for g in zip(ls, gs, strict=True)] or list(
        lines.rows
    )
    travelled = pickle.loads(pickle.dumps(lines.make))
    here = [lines.make(line, g) for line, g in given]
    assert [travelled(line, g) for line, g in given] == here
    assert here[0].values["registry_id"] == "BLT-00001-PA0000001"  # the default join
    assert "max_field_chars" in here[2].problems[0]


# --- CSV: line numbers ------------------------------------------------------------------------


def registry_with_a_multi_line_cell_and_a_blank_line(path: Path) -> Path:
    """Line 1 header; 2-3 person 1 (a name over two lines); 4 person 2; 5 blank; 6 person 3."""
    write_registry(path, [person(1, full_name="Jane\nDoe"), person(2)])
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write("\n")
        csv.writer(f, lineterminator="\n").writerow(person(3).values())
    assert path.read_text(encoding="utf-8").count("\n") == 6
    return path


def test_line_numbers_are_physical_lines_and_blank_lines_are_skipped(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    path = registry_with_a_multi_line_cell_and_a_blank_line(tmp_path / "r.csv")
    rows = read(csv_source, registry_config(path))
    assert [r.values["registry_id"] for r in rows] == ["BLT-00001", "BLT-00002", "BLT-00003"]
    assert [r.line for r in rows[1:]] == [4, 6]
    assert rows[0].values["full_name"] == "Jane\nDoe"


def test_a_record_over_several_lines_has_the_line_it_starts_on(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    """Staff open the export at the reported line; person 1 starts on line 2, not 3."""
    path = registry_with_a_multi_line_cell_and_a_blank_line(tmp_path / "r.csv")
    rows = read(csv_source, registry_config(path))
    assert rows[0].line == 2


# --- CSV: errors that name the key ------------------------------------------------------------


def test_a_file_not_in_the_configured_encoding_names_registry_encoding(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"registry_id,full_name,nationality,permit_number,expiry_date,phone\n"
        b"1,Jos\xe9 Mar\xeda,ES,P1,2026-12-31,0812-3456-7890\n"
    )
    with pytest.raises(ConfigError) as info:
        read(csv_source, registry_config(path))
    assert info.value.key == "registry.encoding"
    assert "registry.encoding" in info.value.fix
    (row,) = read(csv_source, registry_config(path, encoding="cp1252"))
    assert row.values["full_name"] == "José María"


def test_a_missing_file_names_registry_path(csv_source: RegistrySource, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "registry.csv"
    with pytest.raises(ConfigError) as info:
        read(csv_source, registry_config(missing))
    assert info.value.key == "registry.path"
    assert str(missing) in info.value.problem


# --- SQL --------------------------------------------------------------------------------------


def sql_config(tmp_path: Path, url: str, query: str, **registry: Any) -> Config:
    return registry_config(tmp_path / "unused.csv", source="sql", url=url, query=query, **registry)


@pytest.fixture
def registry_db(db_url: str) -> str:
    """db_url with a `registry` table of two permits: an integer id, a real DATE, a NULL phone."""
    table = Table(
        "registry",
        MetaData(),
        Column("registry_id", Integer, primary_key=True),
        Column("full_name", String(200), nullable=False),
        Column("nationality", String(60), nullable=False),
        Column("permit_number", String(40), nullable=False),
        Column("expiry_date", Date, nullable=False),
        Column("phone", String(40), nullable=True),
    )
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            table.create(conn)
            conn.execute(
                insert(table),
                [
                    {
                        "registry_id": 41,
                        "full_name": "张伟",
                        "nationality": "CN",
                        "permit_number": "2C11AB0041-26",
                        "expiry_date": date(2026, 12, 31),
                        "phone": "0812-3456-7890",
                    },
                    {
                        "registry_id": 42,
                        "full_name": "Zoë Müller",
                        "nationality": "DE",
                        "permit_number": "2C11AB0042-26",
                        "expiry_date": date(2027, 1, 15),
                        "phone": None,
                    },
                ],
            )
    finally:
        engine.dispose()
    return db_url


def test_sql_rows_are_read_as_strings_with_null_as_empty(
    sql_source: RegistrySource, registry_db: str, tmp_path: Path
) -> None:
    query = (
        "SELECT registry_id, full_name, nationality, permit_number, expiry_date, phone "
        "FROM registry ORDER BY registry_id"
    )
    rows = read(sql_source, sql_config(tmp_path, registry_db, query))
    assert rows == [
        RawRow(
            1,
            {
                "registry_id": "41",
                "full_name": "张伟",
                "nationality": "CN",
                "permit_number": "2C11AB0041-26",
                "expiry_date": "2026-12-31",
                "phone": "0812-3456-7890",
            },
        ),
        RawRow(
            2,
            {
                "registry_id": "42",
                "full_name": "Zoë Müller",
                "nationality": "DE",
                "permit_number": "2C11AB0042-26",
                "expiry_date": "2027-01-15",
                "phone": "",
            },
        ),
    ]


def test_registry_columns_rename_the_querys_column_names(
    sql_source: RegistrySource, registry_db: str, tmp_path: Path
) -> None:
    query = (
        'SELECT registry_id AS "No. Registrasi", full_name AS "Nama", '
        'nationality AS "KEWARGANEGARAAN", permit_number AS "Nomor Izin", '
        'expiry_date AS "Tanggal Berakhir", phone AS "Telepon" '
        "FROM registry WHERE registry_id = 41"
    )
    used = {k: v for k, v in INDONESIAN.items() if k not in ("passport_number", "permit_type")}
    (row,) = read(sql_source, sql_config(tmp_path, registry_db, query, columns=used))
    assert row.values == {
        "registry_id": "41",
        "full_name": "张伟",
        "nationality": "CN",
        "permit_number": "2C11AB0041-26",
        "expiry_date": "2026-12-31",
        "phone": "0812-3456-7890",
    }


def test_a_query_without_a_required_column_names_that_column(
    sql_source: RegistrySource, registry_db: str, tmp_path: Path
) -> None:
    query = "SELECT registry_id, full_name, nationality, permit_number FROM registry"
    with pytest.raises(ConfigError) as info:
        read(sql_source, sql_config(tmp_path, registry_db, query))
    key = info.value.key
    del info  # its traceback holds read()'s frame, and with it the query's cursor
    gc.collect()  # a cursor left open warns here (warnings are errors), not in a later test
    assert key == "registry.columns.expiry_date"


def test_a_read_stopped_early_closes_its_cursor(
    sql_source: RegistrySource, registry_db: str, tmp_path: Path
) -> None:
    """Sync may stop reading (a refused snapshot, an error): nothing may stay open."""
    query = (
        "SELECT registry_id, full_name, nationality, permit_number, expiry_date "
        "FROM registry ORDER BY registry_id"
    )
    rows = sql_source.read(sql_config(tmp_path, registry_db, query))
    assert isinstance(rows, Generator)
    assert next(rows).values["registry_id"] == "41"
    rows.close()
    gc.collect()


@pytest.mark.parametrize(
    "query", ["SELECT * FROM no_such_table", "SELEC registry_id FROM registry"]
)
def test_a_bad_query_names_registry_query(
    sql_source: RegistrySource, registry_db: str, tmp_path: Path, query: str
) -> None:
    with pytest.raises(ConfigError) as info:
        read(sql_source, sql_config(tmp_path, registry_db, query))
    assert info.value.key == "registry.query"
    assert info.value.fix


def test_a_malformed_url_names_registry_url(sql_source: RegistrySource, tmp_path: Path) -> None:
    cfg = sql_config(tmp_path, "not a database url", "SELECT 1")
    with pytest.raises(ConfigError) as info:
        read(sql_source, cfg)
    assert info.value.key == "registry.url"


def test_describe_hides_the_password(
    sql_source: RegistrySource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://notifyd:s3cret-pw@db.example:5432/registry"
    with pytest.raises(ConfigError, match="password in clear") as info:
        sql_source.describe(sql_config(tmp_path, url, "SELECT 1"))
    assert info.value.key == "registry.url" and "env:" in info.value.fix
    monkeypatch.setenv("NOTIFYD_TEST_REGISTRY_URL", url)
    described = sql_source.describe(
        sql_config(tmp_path, "env:NOTIFYD_TEST_REGISTRY_URL", "SELECT 1")
    )
    assert described == "postgresql+psycopg://notifyd:***@db.example:5432/registry"


# --- CSV: cells over the size limit, repeated names (issue 12) ----------------------------------


def test_a_cell_over_the_limit_rejects_its_row_and_the_read_goes_on(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    rows = [person(1), person(2, full_name="x" * 200_000), person(3)]
    path = write_registry(tmp_path / "r.csv", rows)
    got = read(csv_source, registry_config(path))
    assert [r.line for r in got] == [2, 3, 4]
    assert got[0].problems == got[2].problems == ()
    (problem,) = got[1].problems
    assert "'full_name'" in problem and "200,000" in problem
    assert "registry.max_field_chars (131,072)" in problem
    assert len(got[1].values["full_name"]) < 100  # the rejection keeps a short sample


def test_the_cell_limit_is_a_setting_and_unused_columns_do_not_count(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    header = [*person(1).keys(), "Catatan"]
    lines = [
        header,
        [*person(1).values(), "n" * 500],
        [*person(2, full_name="y" * 61).values(), ""],
    ]
    path = write_lines(tmp_path / "r.csv", lines)
    first, second = read(csv_source, registry_config(path, max_field_chars=60))
    assert first.problems == ()  # a long note in a column notifyd does not read is no harm
    assert "more than registry.max_field_chars (60)" in second.problems[0]


def test_a_raw_line_is_checked_for_long_cells_only_when_it_could_hold_one(
    tmp_path: Path,
) -> None:
    """A sync builds changed lines from their raw bytes: a line no longer than the limit
    cannot hold a cell over it, a longer one has its cells measured as ever."""
    rows = [person(1), person(2, passport_number="P" * 120)]
    cfg = registry_config(write_registry(tmp_path / "r.csv", rows), max_field_chars=100)
    lines = plugins.source_for(plugins.make_manager(), "csv").read_lines(cfg)  # type: ignore[attr-defined]
    assert lines.raw is not None
    (numbers, given), *_ = list(lines.raw)
    assert all(isinstance(g, bytes) for g in given) and len(given[0]) <= 100 < len(given[1])
    short, long = (lines.make(n, g) for n, g in zip(numbers, given, strict=True))
    assert short.problems == () and short.values["registry_id"] == person(1)["registry_id"]
    assert long.problems[0].startswith("'passport_number': a cell of 120 characters")


def test_a_long_cell_reaches_sync_as_a_rejected_row(tmp_path: Path) -> None:
    from notifyd.registry.normalise import Rules, normalise

    rows = [person(1, passport_number="P" * 70)]
    cfg = registry_config(write_registry(tmp_path / "r.csv", rows), max_field_chars=64)
    (raw,) = read(plugins.source_for(plugins.make_manager(), "csv"), cfg)
    out = normalise(raw, Rules.from_config(cfg))
    assert out.reasons[0].startswith("'passport_number': a cell of 70 characters")  # type: ignore[union-attr]


def test_repeated_header_names_stop_the_read_naming_them(
    csv_source: RegistrySource, tmp_path: Path
) -> None:
    header = ["registry_id", "full_name", "Nationality", "nationality", "permit_number",
              "expiry_date", "phone"]  # fmt: skip
    path = write_lines(tmp_path / "r.csv", [header, ["1", "A", "AU", "AU", "P1", "2026-12-31", ""]])
    with pytest.raises(ConfigError) as info:
        read(csv_source, registry_config(path))
    assert "more than one column named 'Nationality', 'nationality'" in info.value.problem
