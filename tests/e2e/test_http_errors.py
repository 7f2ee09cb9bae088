"""Bad requests get clear 4xx answers, leave nothing behind, and the server keeps serving."""
import json
import subprocess

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


def test_oversized_body_without_a_length_is_413_in_json_too(system, tmp_path):
    """A chunked body has no Content-Length, so it is gathered and counted as it comes."""
    big = tmp_path / "big_chunked.csv"
    big.write_text("id,text\n" + ("1," + "x" * 1000 + "\n") * 5000)
    out = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}",
                          "-H", "Content-Type: text/csv", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", f"@{big}",
                          system.base_url + "/upload-file?table=chunked_413"],
                         capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    assert int(code) == 413, out
    assert json.loads(body)["error"] == "too_large"
    status, reply = system.upload(CASES / "single_row.csv", "table=after_chunked_413")
    assert status == 201, reply
