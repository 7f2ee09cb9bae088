"""Bad requests get clear 4xx answers, leave nothing behind, and the server keeps serving."""
import json
import socket
import subprocess
import time

import pytest

from conftest import CASES


def test_existing_table_is_a_conflict(system):
    status, _ = system.upload(CASES / "single_row.csv", "table=twice")
    assert status == 201
    status, reply = system.upload(CASES / "single_row.csv", "table=twice")
    assert status == 409, reply
    assert reply["error"] == "table_exists"
    assert system.query('SELECT count(*) FROM "twice"') == ["1"]


def test_raw_csv_body_with_table_parameter(system):
    status, reply = system.upload(CASES / "leading_zeros.csv", content_type="text/csv",
                                  query="?table=Raw%20Zips")
    assert status == 201, reply
    assert reply["table"] == "raw_zips"
    assert reply["columns"][0] == {"name": "zip", "type": "text"}


def test_raw_csv_without_table_is_refused(system):
    status, reply = system.upload(CASES / "reference.csv", content_type="text/csv")
    assert status == 400 and reply["error"] == "no_table", reply


def test_unsupported_content_type(system):
    status, reply = system.upload(CASES / "reference.csv", content_type="application/pdf",
                                  query="?table=pdf")
    assert status == 415, reply
    assert "application/pdf" in reply["detail"]


def test_form_without_file_field(system):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-F", "table=x",
                          system.base_url + "/upload-file"], capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    assert int(code) == 400
    assert json.loads(body)["error"] == "no_file"


def test_oversized_upload_is_413_and_server_keeps_serving(system, tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "w") as out:
        out.write("id,text\n")
        line = "1," + "x" * 1000 + "\n"
        out.write(line * 5000)  # about 5 MB, over the 4 MiB limit of the test config
    status, reply = system.upload(big)
    assert status == 413
    assert reply["error"] == "too_large" and "4194304 bytes" in reply["detail"], reply
    status, reply = system.upload(CASES / "single_row.csv", "table=after_413")
    assert status == 201, reply


def curl_chunked(system, path, table):
    """Uploads `path` as a chunked text/csv body with curl; returns (status, JSON reply)."""
    out = subprocess.run(["curl", "-s", "-S", "--max-time", "60", "-w", "\n%{http_code}",
                          "-H", "Content-Type: text/csv", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", f"@{path}",
                          f"{system.base_url}/upload-file?table={table}"],
                         capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    return int(code), json.loads(body) if body else out.stderr


def test_oversized_body_without_a_length_is_413_in_json_too(system, tmp_path):
    """A chunked body has no Content-Length, so it is gathered and counted as it comes."""
    big = tmp_path / "big_chunked.csv"
    big.write_text("id,text\n" + ("1," + "x" * 1000 + "\n") * 5000)
    code, reply = curl_chunked(system, big, "chunked_413")
    assert code == 413, reply
    assert reply["error"] == "too_large"
    status, reply = system.upload(CASES / "single_row.csv", "table=after_chunked_413")
    assert status == 201, reply


def chunked_request(table):
    return (f"POST /upload-file?table={table} HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n").encode()


def test_a_chunked_body_far_over_the_limit_is_refused_while_it_is_sent(system, tmp_path):
    """20 times the limit: the 413 comes as soon as the limit is passed, not after the body."""
    huge = tmp_path / "huge_chunked.csv"
    with open(huge, "w") as out:
        out.write("id,text\n")
        out.write(("1," + "x" * 1000 + "\n") * 80_000)  # about 80 MB, 20x the 4 MiB limit
    code, reply = curl_chunked(system, huge, "huge_chunked")
    assert code == 413, reply
    assert reply["error"] == "too_large"
    assert system.query("SELECT count(*) FROM pg_tables WHERE tablename = 'huge_chunked'") == ["0"]
    status, reply = system.upload(CASES / "single_row.csv", "table=after_huge_chunked")
    assert status == 201, reply


def test_a_client_that_sends_on_after_its_413_is_cut_off(system):
    """A client that never reads may send the rest of its body, but not without end."""
    port = int(system.base_url.rsplit(":", 1)[1])
    piece = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"  # one chunk of 1 MiB
    sent = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.settimeout(30)
        client.sendall(chunked_request("endless"))
        try:
            while sent < 1024 * 0x100000:
                client.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
    cut_after = time.monotonic() - started
    # Cut after the limit (4 MiB) and the drop allowance (64 MiB), far before 1 GiB.
    assert 4 * 0x100000 < sent < 200 * 0x100000, sent
    assert cut_after < 30, cut_after
    status, reply = system.upload(CASES / "single_row.csv", "table=after_endless")
    assert status == 201, reply


def test_a_malformed_chunk_is_400_and_closes_the_connection(system):
    port = int(system.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.settimeout(10)
        client.sendall(chunked_request("bad_chunk") + b"zz\r\nid\n1\n\r\n0\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert json.loads(body)["error"] == "bad_request"


def test_an_upload_by_get_is_405_naming_the_method_to_use(system):
    out = subprocess.run(["curl", "-s", "-D", "-", system.base_url + "/upload-file"],
                         capture_output=True)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405"), out.stdout
    assert b"\r\nAllow: POST\r\n" in head + b"\r\n", head
    reply = json.loads(body)
    assert reply["error"] == "method_not_allowed" and "POST" in reply["detail"], reply


def test_an_unknown_route_is_404_in_json(system):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-X", "DELETE",
                          system.base_url + "/no/such/route"], capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    assert int(code) == 404, out
    assert json.loads(body) == {"error": "not_found", "detail": "no route for DELETE /no/such/route"}


def raw_request(system, request, timeout=10):
    """Sends `request` on its own connection; returns (status line, JSON body) once the body
    stated by the answer's Content-Length is in."""
    with socket.create_connection(("127.0.0.1", system.http_port)) as client:
        client.settimeout(timeout)
        client.sendall(request)
        answer = b""
        while True:
            head, _, body = answer.partition(b"\r\n\r\n")
            lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")]
            if lengths and len(body) >= int(lengths[0]):
                break
            chunk = client.recv(65536)
            assert chunk, f"the connection ended before the answer: {answer!r}"
            answer += chunk
    return head.split(b"\r\n")[0].decode(), json.loads(body)


UPLOAD_HEAD = (b"POST /upload-file?table=smuggled HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: text/csv\r\n")


@pytest.mark.parametrize("lengths", [
    b"Content-Length: 4\r\nContent-Length: 8\r\n",
    b"Content-Length: 12abc\r\n",
    b"Content-Length: abc\r\n",
    b"Content-Length : 8\r\n",
])
def test_a_doubtful_content_length_is_400_and_loads_nothing(system, lengths):
    """Pistache kept the first of two lengths and read "12abc" as 12: a body cut short, and
    its rest read as the next request."""
    status, reply = raw_request(system, UPLOAD_HEAD + lengths + b"\r\nn\n1\nn\n2\n")
    assert status.startswith("HTTP/1.1 400"), (status, reply)
    assert reply["error"] == "bad_length", reply
    assert system.query("SELECT count(*) FROM pg_tables WHERE tablename = 'smuggled'") == ["0"]


def test_a_28000_letter_path_is_404_and_the_front_lives(system):
    """std::regex recursed once per letter and ran the HTTP thread's stack out (SIGSEGV)."""
    status, reply = raw_request(system, b"GET /" + b"a" * 28_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.startswith("HTTP/1.1 404"), (status, reply)
    assert len(reply["detail"]) < 200, reply
    status, reply = system.upload(CASES / "single_row.csv", "table=after_long_path")
    assert status == 201, reply


def test_headers_over_64_kib_are_431(system):
    """Pistache parses the headers again at each read: a 2 MiB header cost seconds of CPU."""
    status, reply = raw_request(
        system, b"GET /tables HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n")
    assert status.startswith("HTTP/1.1 431"), (status, reply)
    assert reply["error"] == "headers_too_large", reply


def test_an_absurd_chunk_size_is_400_without_the_librarys_words(system):
    status, reply = raw_request(system, UPLOAD_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
                                b"ffffffffffffffff\r\nab\r\n0\r\n\r\n")
    assert status.startswith("HTTP/1.1 400"), (status, reply)
    assert reply["error"] == "bad_request", reply
    assert "_M_create" not in reply["detail"] and "alloc" not in reply["detail"], reply


def test_a_delimiter_of_two_characters_is_refused(system):
    """`;;` used to be taken as `;` without a word."""
    status, reply = system.upload(CASES / "reference.csv",
                                  query="?table=two_char_delimiter&delimiter=%3B%3B")
    assert status == 400, reply
    assert reply["error"] == "bad_delimiter" and "one character" in reply["detail"], reply
    assert system.query(
        "SELECT count(*) FROM pg_tables WHERE tablename = 'two_char_delimiter'") == ["0"]


def test_a_second_file_field_is_refused(system):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}",
                          "-F", f"file=@{CASES / 'reference.csv'}",
                          "-F", f"file=@{CASES / 'single_row.csv'}",
                          system.base_url + "/upload-file?table=two_files"],
                         capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    assert int(code) == 400, out
    reply = json.loads(body)
    assert reply["error"] == "bad_multipart" and "more than one" in reply["detail"], reply
    assert system.query("SELECT count(*) FROM pg_tables WHERE tablename = 'two_files'") == ["0"]


def test_a_file_field_without_a_file_name_is_the_file(system):
    """`curl -F file=<path` sends the content without a file name."""
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}",
                          "-F", f"file=<{CASES / 'reference.csv'}",
                          system.base_url + "/upload-file?table=nameless_file"],
                         capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    assert int(code) == 201, out
    assert system.query('SELECT count(*) FROM "nameless_file"') == ["10"]


@pytest.mark.parametrize("path", ["/tables", "/no/such/page"])
def test_an_answer_that_says_close_ends_the_connection(system, path):
    """Pistache left such connections open for good: 1,000 idle clients held 1,000 sockets."""
    with socket.create_connection(("127.0.0.1", system.http_port)) as client:
        client.settimeout(10)
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while chunk := client.recv(65536):  # a timeout here means the server kept it open
            answer += chunk
    assert b"\r\nConnection: Close\r\n" in answer, answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    json.loads(body)  # the whole answer came before the end
