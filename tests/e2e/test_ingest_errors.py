"""Every way an upload is refused answers a clear 4xx and leaves no table behind, including a
refusal by PostgreSQL in the middle of COPY, and the server keeps serving."""
import pytest

from conftest import CASES


def table_exists(system, table):
    return system.query(f"SELECT to_regclass('\"{table}\"') IS NOT NULL") == ["t"]


def csv_file(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


REFUSALS = [
    # (id, file text, form fields, status, error)
    ("forced_type_violated", "id,name\n1,ann\n2,bob\n", ['types={"name":"integer"}'],
     400, "bad_value"),
    ("forced_type_unknown_column", "id\n1\n", ['types={"nope":"integer"}'],
     400, "bad_type_override"),
    ("forced_type_unknown_type", "id\n1\n", ['types={"id":"money"}'], 400, "bad_parameter"),
    ("types_not_an_object", "id\n1\n", ["types=[1]"], 400, "bad_parameter"),
    ("unsupported_encoding", "id\n1\n", ["encoding=latin-9"], 400, "unsupported_encoding"),
    ("bad_delimiter", "id\n1\n", ["delimiter=é"], 400, "bad_delimiter"),
    ("unknown_mode", "id\n1\n", ["mode=merge"], 400, "bad_mode"),
    ("empty_file", b"", [], 400, "empty_file"),
    ("ragged_rows", "a,b\n1,2\n3\n4,5,6\n", [], 400, "ragged_rows"),
    ("unterminated_quote", 'a,b\n1,"two\n', [], 400, "unterminated_quote"),
    ("utf16", "a,b\n1,2\n".encode("utf-16"), [], 400, "bad_encoding"),
    ("append_to_missing", "id\n1\n", ["mode=append"], 404, "no_such_table"),
]


@pytest.mark.parametrize("text,fields,status,error", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusal_is_clear_and_leaves_no_table(system, tmp_path, text, fields, status, error):
    table = "refused_" + error
    got, reply = system.upload(csv_file(tmp_path, text), f"table={table}", *fields)
    assert got == status, reply
    assert reply["error"] == error and reply["detail"], reply
    assert not table_exists(system, table)


def test_refusal_by_postgresql_during_copy_changes_nothing(system, tmp_path):
    """A row PostgreSQL refuses after several batches went in: here a CHECK constraint the
    CSV side cannot know about. The append is refused and the table keeps its rows."""
    first = csv_file(tmp_path, "id,amount\n1,1.5\n", "first.csv")
    assert system.upload(first, "table=checked")[0] == 201
    system.query('ALTER TABLE "checked" ADD CHECK (id < 12000)')
    rows = "".join(f"{i},{i}.5\n" for i in range(12001))
    status, reply = system.upload(csv_file(tmp_path, "id,amount\n" + rows, "more.csv"),
                                  "table=checked", "mode=append")
    assert status == 400, reply
    assert "check" in reply["detail"], reply
    assert system.query('SELECT count(*) FROM "checked"') == ["1"]
    assert system.upload(CASES / "single_row.csv", "table=after_copy_refusal")[0] == 201


def test_replace_refused_during_copy_keeps_the_old_rows(system, tmp_path):
    """A replace with the same columns truncates inside the load transaction; a row refused
    late in COPY rolls the truncation back too."""
    first = csv_file(tmp_path, "id\n1\n2\n", "first.csv")
    assert system.upload(first, "table=kept")[0] == 201
    system.query('ALTER TABLE "kept" ADD CHECK (id < 12000)')
    rows = "".join(f"{i}\n" for i in range(12001))
    status, reply = system.upload(csv_file(tmp_path, "id\n" + rows, "more.csv"),
                                  "table=kept", "mode=replace")
    assert status == 400, reply
    assert system.query('SELECT count(*) FROM "kept"') == ["2"]


def test_ragged_rows_name_every_line(system, tmp_path):
    path = csv_file(tmp_path, "a,b\n1,2\n3\n4,5\n6,7,8\n\"x\ny\",1,2\n")
    status, reply = system.upload(path, "table=ragged_lines")
    assert status == 400
    assert reply["lines"] == [{"line": 3, "found": 1, "expected": 2},
                              {"line": 5, "found": 3, "expected": 2},
                              {"line": 6, "found": 3, "expected": 2}]
