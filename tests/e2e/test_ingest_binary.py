"""Rows go to PostgreSQL in its binary COPY format, so the server does not parse their text:
every value must come out exactly as PostgreSQL's own input function reads its text. Each
column below holds the edge cases of its type; every value in the table is compared with
PostgreSQL's cast of the text in the file."""
import csv
import io

from conftest import CASES  # noqa: F401  (the shared fixtures)

COLUMNS = {
    # name: (type PostgreSQL gets, values as written in the file)
    "int": ("integer", ["0", "-0", "+7", "2147483647", "-2147483648", "42"]),
    "big": ("bigint", ["2147483648", "-9223372036854775808", "9223372036854775807", "-1"]),
    "num": ("numeric", ["0.00", "-0.00", "1.50", ".5", "5.", "-1e3", "1.5e-3", "12345.6789e-2",
                        "1e1000", "-1E-1000", "9.99e999", "+0.000001",
                        "1234567890123456789012345678901234567890.0987654321", "-10000",
                        "10000.0001", "99999999", "0.0001", "0.5e2"]),
    "flag": ("boolean", ["true", "false", "yes", "no", "t", "F", "TRUE", "No"]),
    "day": ("date", ["2000-01-01", "1999-12-31", "0001-01-01", "9999-12-31", "2024-02-29",
                     "1900-03-01", "2100-12-31"]),
    "at": ("timestamp without time zone",
           ["2024-05-09 09:05:34", "2024-05-09T09:05", "2024-05-09 09:05:34.5",
            "2024-05-09 09:05:34.123456789", "2024-05-09 09:05:34.0000005",
            "2024-05-09 09:05:34.0000015", "2024-05-09 09:05:34.0000025",
            "2024-12-31 23:59:59.9999995", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999",
            "2024-01-01", "1999-12-31T23:59:59.1", "2000-01-01 00:00:00.000001"]),
    "zoned": ("timestamp with time zone",
              ["2024-05-09T09:05:34Z", "2024-05-09 09:05:34+05", "2024-05-09 09:05:34.25-0330",
               "2024-05-09T09:05+15:59", "0001-01-01T00:00:00-15:00", "9999-12-31T23:59:59+00:00",
               "2000-01-01 00:00:00z", "2024-05-09 09:05:34.0000025+01:00"]),
    "note": ("text", ["plain", "tab\there", "back\\slash", "", "line\nbreak", "Zürich \"q\"",
                      "   spaced  ", "\\N", "-"]),
}


def write_table_file(path):
    """One column per entry of COLUMNS, a key column first; shorter columns end in NULLs."""
    rows = max(len(values) for _, values in COLUMNS.values())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["k"] + list(COLUMNS))
    for i in range(rows):
        writer.writerow([str(i + 1)] + [values[i] if i < len(values) else ""
                                        for _, values in COLUMNS.values()])
    path.write_text(out.getvalue())


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def expected_texts(system, sql_type, values):
    """PostgreSQL's text of each value read as `sql_type`, in order."""
    array = "ARRAY[" + ", ".join(sql_literal(v) for v in values) + "]::text[]"
    rows = system.query(f"SELECT coalesce(v::{sql_type}::text, '<null>') FROM unnest({array}) "
                        "WITH ORDINALITY AS t(v, i) ORDER BY i")
    return rows


def loaded_texts(system, table, column, count):
    """The column's values as text, line breaks shown as \\n, NULL as <null>."""
    return system.query(f"SELECT coalesce(replace(\"{column}\"::text, E'\\n', '\\n'), "
                        f"'<null>') FROM \"{table}\" ORDER BY k LIMIT {count}")


def test_every_value_loads_as_postgresql_reads_its_text(system, tmp_path):
    path = tmp_path / "edges.csv"
    write_table_file(path)
    status, reply = system.upload(path)
    assert status == 201, reply
    types = {column["name"]: column["type"] for column in reply["columns"]}
    for name, (sql_type, values) in COLUMNS.items():
        assert types[name] == sql_type, (name, types[name])
        if sql_type == "text":  # as written, but an unquoted empty field is NULL
            expected = [v.replace("\n", "\\n") if v else "<null>" for v in values]
        else:
            expected = expected_texts(system, sql_type, values)
        assert loaded_texts(system, "edges", name, len(values)) == expected, name
    assert "table=edges mode=create columns=9 format=binary" in system.log_path.read_text()


def test_a_forced_timestamptz_goes_as_text_for_the_server_to_read_its_zone(system, tmp_path):
    values = ["2024-05-09 09:05:34", "2024-05-09", "2024-05-09T09:05:34+02"]
    path = tmp_path / "forced_zone.csv"
    path.write_text("k,at\n" + "".join(f"{i + 1},{v}\n" for i, v in enumerate(values)))
    status, reply = system.upload(path, 'types={"at":"timestamptz"}')
    assert status == 201, reply
    assert loaded_texts(system, "forced_zone", "at", 3) == expected_texts(
        system, "timestamptz", values)
    assert "table=forced_zone mode=create columns=2 format=text" in system.log_path.read_text()
