"""GET /tables and GET /tables/{name}: what uploads made, read back over HTTP."""
import json
import re
import urllib.error
import urllib.request

from conftest import CASES

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def get(system, path):
    """GETs `path`; returns (status, parsed JSON body)."""
    try:
        with urllib.request.urlopen(system.base_url + path, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_list_is_empty_before_any_upload(system):
    assert get(system, "/tables") == (200, {"tables": []})


def test_detail_shows_columns_headers_count_and_first_rows(system, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("\ufeff Name ,Zip  Code,,Age\n"
                    + "".join(f"p{i},0{i % 10}123,,{i}\n" for i in range(25)), encoding="utf-8")
    status, reply = system.upload(path)
    assert status == 201, reply

    status, table = get(system, "/tables/people")
    assert status == 200, table
    assert table["name"] == "people"
    assert table["columns"] == [
        {"name": "Name", "type": "text", "header": " Name "},
        {"name": "Zip Code", "type": "text", "header": "Zip  Code"},
        {"name": "column_3", "type": "text", "header": ""},
        {"name": "Age", "type": "integer", "header": "Age"},
    ]
    assert table["headers"] == [" Name ", "Zip  Code", "", "Age"]
    assert table["rows"] == 25
    assert len(table["first_rows"]) == 20
    assert table["first_rows"][0] == ["p0", "00123", None, "0"]
    assert RFC3339_UTC.match(table["created"]) and RFC3339_UTC.match(table["loaded"])
    assert isinstance(table["views"], list)


def test_list_names_every_table_with_columns_and_count(system):
    assert system.upload(CASES / "reference.csv")[0] == 201
    status, listing = get(system, "/tables")
    assert status == 200
    by_name = {table["name"]: table for table in listing["tables"]}
    reference = by_name["reference"]
    assert reference["columns"] == [{"name": "AColumnOfNumbers", "type": "integer"}]
    assert reference["rows"] == 10
    assert RFC3339_UTC.match(reference["created"])
    assert [table["name"] for table in listing["tables"]] == sorted(by_name)


def test_unknown_table_is_404_json(system):
    status, reply = get(system, "/tables/no_such_thing")
    assert status == 404
    assert reply["error"] == "no_such_table" and "no_such_thing" in reply["detail"]


def test_rejected_upload_is_not_listed(system, tmp_path):
    path = tmp_path / "ragged_one.csv"
    path.write_text("a,b\n1,2\n3\n")
    assert system.upload(path)[0] == 400
    assert "ragged_one" not in [table["name"] for table in get(system, "/tables")[1]["tables"]]
    assert get(system, "/tables/ragged_one")[0] == 404


def test_replace_with_new_columns_updates_headers_and_created(system, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("a\nx\n")  # no integer column: no view that the new columns break
    second = tmp_path / "second.csv"
    second.write_text("B b,c\nx,y\nz,w\n")
    assert system.upload(first, "table=reshaped")[0] == 201
    before = get(system, "/tables/reshaped")[1]
    assert system.upload(second, "table=reshaped", "mode=replace")[0] == 201
    after = get(system, "/tables/reshaped")[1]
    assert after["headers"] == ["B b", "c"]
    assert after["rows"] == 2
    assert after["created"] > before["created"]


def test_append_keeps_created_and_moves_loaded(system, tmp_path):
    path = tmp_path / "grows.csv"
    path.write_text("a\n1\n")
    assert system.upload(path)[0] == 201
    before = get(system, "/tables/grows")[1]
    assert system.upload(path, "mode=append")[0] == 201
    after = get(system, "/tables/grows")[1]
    assert after["created"] == before["created"]
    assert after["loaded"] > before["loaded"]
    assert after["rows"] == 2
