"""Every shared CSV case, uploaded over HTTP, checked against expected.json and the table."""
import json

import pytest

from conftest import CASES

EXPECTED = json.loads((CASES / "expected.json").read_text())["cases"]


def quote(identifier):
    return '"' + identifier.replace('"', '""') + '"'


def table_columns(system, table):
    rows = system.query(
        "SELECT json_agg(json_build_array(attname, format_type(atttypid, atttypmod)) "
        f"ORDER BY attnum) FROM pg_attribute WHERE attrelid = to_regclass('{quote(table)}') "
        "AND attnum > 0 AND NOT attisdropped")
    return json.loads(rows[0]) if rows and rows[0] else None


def column_values(system, table, column):
    rows = system.query(f"SELECT json_agg({quote(column)}::text) FROM {quote(table)}")
    return json.loads(rows[0]) if rows and rows[0] else []


@pytest.mark.parametrize("case", EXPECTED, ids=[case["file"] for case in EXPECTED])
def test_case(system, case):
    status, reply = system.upload(CASES / case["file"])

    assert status == case["status"], reply
    if status != 201:
        assert reply["error"] and reply["detail"], reply
        if "error_lines" in case:
            assert [line["line"] for line in reply["lines"]] == case["error_lines"], reply
            for line in reply["lines"]:
                assert line["found"] != line["expected"]
        assert table_columns(system, case["table"]) is None, "a rejected upload left a table"
        return

    assert reply["table"] == case["table"]
    expected_columns = [list(column) for column in case["columns"]]
    assert [[c["name"], c["type"]] for c in reply["columns"]] == expected_columns
    assert table_columns(system, case["table"]) == expected_columns
    assert reply["rows"] == case["rows"]
    count = system.query(f"SELECT count(*) FROM {quote(case['table'])}")
    assert int(count[0]) == case["rows"]
    for column, values in case.get("values", {}).items():
        assert column_values(system, case["table"], column) == values, column


def test_windows_1252_reply_names_the_encoding(system):
    status, reply = system.upload(CASES / "windows_1252.csv", "table=cp1252_again")
    assert status == 201, reply
    assert reply["encoding"] == "windows-1252"
