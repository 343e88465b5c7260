"""What crosses to the worker processes comes back as the Records and Rejections it was."""

from __future__ import annotations

from conftest import config_dict, person
from notifyd import config
from notifyd.model import RawRow
from notifyd.registry.normalise import Rules, normalise
from notifyd.registry.packing import normalise_packed, pack_rows, unpack


def test_packed_rows_normalise_to_exactly_what_normalise_gives(tmp_path) -> None:
    rules = Rules.from_config(config.parse(config_dict(tmp_path / "r.csv")))
    rows = [
        RawRow(2, person(1)),
        RawRow(3, person(2, whatsapp="+61 412 345 678")),
        RawRow(4, person(3, nationality="Atlantis")),
        RawRow(5, {"registry_id": "x"}, ("'Nama': a cell of 9,999 characters",)),  # other keys
        RawRow(6, person(4, phone="", whatsapp="0812-3456-0004", opted_out="sms")),
    ]
    expected = [normalise(r, rules) for r in rows]
    assert unpack(normalise_packed(pack_rows(rows), rules)) == expected
    assert pack_rows([]) == ((), [])
