"""The registry mapping: one column to several fields, fields built from several columns or
constants, and every problem of a header listed at once (notifyd/registry/columns.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import config_dict
from notifyd import config
from notifyd.config import Config
from notifyd.errors import ConfigError, ConfigErrors
from notifyd.registry.columns import header_map, header_problems

HEADER = [
    "No.", "Kode Kantor", "No. Urut", "Nama", "No. Paspor", "Kewarganegaraan", "No. HP",
    "Tanggal Habis Berlaku", "Jenis Izin",
]  # fmt: skip
CELLS = [
    "1", "BLT", "0042", "Wang Wei", "E1234567", "Tiongkok", "0812-1111-2222",
    "5 Desember 2026", "ITAS",
]  # fmt: skip


def cfg_with(columns: dict[str, Any], tmp_path: Path) -> Config:
    data = config_dict(tmp_path / "r.csv")
    data["registry"]["columns"] = columns
    return config.parse(data)


def test_one_column_feeds_two_fields_and_a_field_joins_two_columns(tmp_path: Path) -> None:
    cfg = cfg_with(
        {
            "registry_id": ["Kode Kantor", "No. Urut"],
            "passport_number": "No. Paspor",
            "permit_number": "No. Paspor",
            "full_name": "nama",
            "nationality": "Kewarganegaraan",
            "phone": "No. HP",
            "expiry_date": "Tanggal Habis Berlaku",
            "permit_type": {"value": "KITAS"},
            "office": {"columns": ["Kode Kantor"]},
        },
        tmp_path,
    )
    values = header_map(HEADER, cfg, "export")(CELLS)
    assert values["registry_id"] == "BLT-0042"
    assert values["passport_number"] == values["permit_number"] == "E1234567"
    assert values["permit_type"] == "KITAS"  # a constant, whatever the export says
    assert values["office"] == "BLT"
    assert values["full_name"] == "Wang Wei"
    assert "whatsapp" not in values  # not in the export, not mapped: left empty


def test_a_join_text_and_a_missing_part_makes_no_id(tmp_path: Path) -> None:
    cfg = cfg_with(
        {
            "registry_id": {"columns": ["Kode Kantor", "No. Urut"], "join": "/"},
            "full_name": "Nama", "nationality": "Kewarganegaraan", "permit_number": "No. Paspor",
            "expiry_date": "Tanggal Habis Berlaku",
        },
        tmp_path,
    )  # fmt: skip
    pick = header_map(HEADER, cfg, "export")
    assert pick(CELLS)["registry_id"] == "BLT/0042"
    blank = list(CELLS)
    blank[2] = " "
    assert pick(blank)["registry_id"] == ""  # half an id would merge people: it is missing


def test_every_header_problem_is_listed_at_once(tmp_path: Path) -> None:
    cfg = cfg_with(
        {
            "registry_id": ["Kode Kantor", "Nomor"],
            "full_name": "Nama Lengkap",
            "whatsapp": "No. WA",
            "nationality": "Kewarganegaraan",
            "permit_number": "No. Paspor",
            "expiry_date": "Tanggal Habis Berlaku",
        },
        tmp_path,
    )
    with pytest.raises(ConfigErrors) as info:
        header_map(HEADER, cfg, "ekspor.csv")
    keys = [e.key for e in info.value.errors]
    assert keys == ["registry.columns.registry_id", "registry.columns.full_name",
                    "registry.columns.whatsapp"]  # fmt: skip
    assert "'Nomor'" in info.value.errors[0].problem
    assert "'Kode Kantor'" not in info.value.errors[0].problem.split("(")[0]
    assert "remove the line" in info.value.errors[2].fix  # an optional field may go
    assert str(info.value).startswith("3 problems:")
    assert isinstance(info.value, ConfigError)  # one key still names the first


def test_repeated_header_names_are_an_error_naming_them(tmp_path: Path) -> None:
    cfg = cfg_with({}, tmp_path)
    header = ["registry_id", "full_name", "Phone", "nationality", "phone ", "permit_number",
              "expiry_date", "", ""]  # fmt: skip
    (problem,) = header_problems(header, cfg, "r.csv")
    assert problem.key == "registry.columns"
    assert "'Phone', 'phone '" in problem.problem  # empty trailing names are not repeats


@pytest.mark.parametrize(
    "spec", ["", [], ["A", 3], {"value": 3}, {"columns": ["A"], "glue": "-"}, {"join": "-"}, 5]
)
def test_a_malformed_mapping_names_its_key(spec: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        cfg_with({"registry_id": spec}, tmp_path)
    assert info.value.key == "registry.columns.registry_id"
    assert "constant" in info.value.fix
