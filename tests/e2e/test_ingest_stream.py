"""An upload's body is read as it arrives, and its rows go to the loader under the types of its
first batch while later rows are still being read. With batch_rows = 2 a small file has many
batches, so these tests reach every turn of that: a later row that changes a type, refuses the
file, or makes the columns match a table the first rows did not. Each must answer exactly as if
every row had been read first. Also: the body read whole by Pistache (chunked) and streamed
give the same table; 100-continue; a client gone half way."""
import socket
import subprocess

import pytest

from conftest import CASES, System, server_url


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("stream"), server_url(),
                     extra_http="max_upload_bytes = 4194304\nbatch_rows = 2")
    yield running
    assert running.process.poll() is None, "tinydevcrm run died during the tests"
    running.stop()


def csv_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def types_of(reply):
    return [column["type"] for column in reply["columns"]]


def table_exists(system, table):
    return system.query(f"SELECT to_regclass('\"{table}\"') IS NOT NULL") == ["t"]


def test_a_later_value_changes_a_type_and_every_row_is_loaded_as_text(system, tmp_path):
    path = csv_file(tmp_path, "later_text.csv", "n,t\n1,a\n2,b\n03,c\nx,d\n5,e\n")
    status, reply = system.upload(path)
    assert status == 201, reply
    assert types_of(reply) == ["text", "text"]
    assert reply["rows"] == 5
    assert system.query('SELECT n FROM "later_text" ORDER BY t') == ["1", "2", "03", "x", "5"]
    assert "upload types changed table=later_text" in system.log_path.read_text()


def test_a_column_empty_at_first_takes_the_type_of_its_later_values(system, tmp_path):
    path = csv_file(tmp_path, "late_values.csv", "a,b\n1,\n2,\n3,7\n4,8\n")
    status, reply = system.upload(path)
    assert status == 201, reply
    assert types_of(reply) == ["integer", "integer"]
    assert system.query('SELECT coalesce(b::text, \'-\') FROM "late_values" ORDER BY a') == [
        "-", "-", "7", "8"]


def test_a_late_ragged_row_refuses_the_file_and_leaves_no_table(system, tmp_path):
    path = csv_file(tmp_path, "late_ragged.csv", "a,b\n1,2\n3,4\n5,6\n7\n9,10\n11,12,13\n")
    status, reply = system.upload(path)
    assert status == 400, reply
    assert reply["error"] == "ragged_rows"
    assert [line["line"] for line in reply["lines"]] == [5, 7]
    assert not table_exists(system, "late_ragged")


def test_a_bad_file_is_refused_as_such_even_when_the_table_exists(system, tmp_path):
    """The loader refuses the create at once (409), but the file's own fault, found later,
    is the answer, as when every row was read before the loader was asked."""
    assert system.upload(csv_file(tmp_path, "taken.csv", "a,b\n1,2\n"))[0] == 201
    status, reply = system.upload(csv_file(tmp_path, "taken.csv", "a,b\n1,2\n3,4\n5,6\n7\n"))
    assert status == 400 and reply["error"] == "ragged_rows", reply
    assert system.query('SELECT count(*) FROM "taken"') == ["1"]


def test_append_whose_first_rows_do_not_show_the_table_types(system, tmp_path):
    """The first batch leaves b empty, so it looks like text and the loader refuses to append
    it to an integer column; all rows make b an integer, which the table has."""
    assert system.upload(csv_file(tmp_path, "appendable.csv", "a,b\n1,2\n"))[0] == 201
    more = csv_file(tmp_path, "more.csv", "a,b\n3,\n4,\n5,6\n")
    status, reply = system.upload(more, "table=appendable", "mode=append")
    assert status == 201, reply
    assert types_of(reply) == ["integer", "integer"]
    assert system.query('SELECT count(*), sum(b) FROM "appendable"') == ["4|8"]


def test_replace_whose_types_change_late_keeps_the_table_until_the_end(system, tmp_path):
    assert system.upload(csv_file(tmp_path, "swapped.csv", "a,b\n1,2\n"))[0] == 201
    path = csv_file(tmp_path, "swapped.csv", "a,b\n1,2\n3,4\n5,x\n")
    status, reply = system.upload(path, "mode=replace")
    assert status == 201, reply
    assert types_of(reply) == ["integer", "text"]
    assert system.query('SELECT string_agg(b, \',\' ORDER BY a) FROM "swapped"') == ["2,4,x"]


def big_file(tmp_path, name, rows):
    lines = "".join(f"{i},name {i},{i * 7 % 1000}.25,{'true' if i % 3 else 'false'},"
                    f"2024-01-{i % 28 + 1:02d} 10:{i % 60:02d}:00\n" for i in range(rows))
    return csv_file(tmp_path, name, "id,name,amount,active,created_at\n" + lines)


def test_a_body_read_whole_or_as_it_arrives_gives_the_same_table(system, tmp_path):
    """curl sends a multipart file of 200 KB with its length, which is streamed; the same file
    as a chunked raw body has no length, so Pistache gathers it first."""
    path = big_file(tmp_path, "rows.csv", 4000)
    status, streamed = system.upload(path, "table=streamed")
    assert status == 201, streamed
    out = subprocess.run(["curl", "-s", "-S", "-o", "/dev/null", "-w", "%{http_code}",
                          "-H", "Content-Type: text/csv", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", f"@{path}",
                          f"{system.base_url}/upload-file?table=gathered"],
                         check=True, capture_output=True, text=True)
    assert out.stdout == "201"
    columns = "id, name, amount, active, created_at"
    assert system.query(f'SELECT {columns} FROM "streamed" EXCEPT SELECT {columns} '
                        'FROM "gathered"') == []
    assert system.query('SELECT count(*) FROM "gathered"') == ["4000"]
    assert types_of(streamed) == ["integer", "text", "numeric", "boolean",
                                  "timestamp without time zone"]


def test_a_large_windows_1252_file_is_converted_whole(system, tmp_path):
    """Its bytes are not UTF-8, which the checks made while it arrived find; it is then read
    as Windows-1252 like a small one."""
    path = tmp_path / "latin.csv"
    rows = "".join(f"{i},caf\xe9 {i}\n" for i in range(20000))
    path.write_bytes(("id,name\n" + rows).encode("cp1252"))
    status, reply = system.upload(path)
    assert status == 201, reply
    assert reply["encoding"] == "windows-1252" and reply["rows"] == 20000
    assert system.query('SELECT name FROM "latin" WHERE id = 19999') == ["café 19999"]


def request_head(system, length, extra=""):
    return (f"POST /upload-file?table=raw_socket HTTP/1.1\r\nHost: {system.base_url[7:]}\r\n"
            f"Content-Type: text/csv\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def read_reply(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_expect_100_continue_is_answered_before_the_body(system):
    body = b"id,label\n1,a\n2,b\n"
    port = int(system.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_head(system, len(body), "Expect: 100-continue\r\n"))
        assert read_reply(sock).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        reply = read_reply(sock)
        while b"}" not in reply:
            reply += sock.recv(65536)
    assert reply.split(b"\r\n", 1)[0] == b"HTTP/1.1 201 Created", reply
    assert system.query('SELECT count(*) FROM "raw_socket"') == ["2"]


def test_a_client_gone_half_way_leaves_nothing_and_the_server_serves_on(system):
    port = int(system.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_head(system, 100000).replace(b"raw_socket", b"cut_off"))
        sock.sendall(b"id,label\n" + b"1,a\n" * 1000)
    assert system.upload(CASES / "single_row.csv", "table=after_cut")[0] == 201
    assert not table_exists(system, "cut_off")
