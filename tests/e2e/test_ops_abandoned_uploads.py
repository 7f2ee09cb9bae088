"""Uploads whose other end went away: the HTTP front or the broker killed while a loader is
in the middle of an upload, and the first upload after PostgreSQL restarted. The loader must
end up free again, with nothing of the lost upload left, so the next upload succeeds."""
import os
import signal
import subprocess

import pytest

from conftest import CASES, System, server_url, wait_for
from test_ops_support import (log_has, private_pg, table_exists, upload, wait_for_stage,
                              write_numbers_csv)

# How long the HTTP front waits for a loader, and the loader for an uploader gone silent.
UPLOAD_TIMEOUT_MS = 3000


@pytest.fixture
def system(tmp_path):
    running = System(tmp_path, server_url(),
                     extra_http=f"upload_timeout_ms = {UPLOAD_TIMEOUT_MS}")
    yield running
    running.stop()


def start_big_upload(system, tmp_path, table):
    """Starts a large raw upload of `table` with curl and returns once the loader has begun
    it (its table and transaction are open)."""
    big = write_numbers_csv(tmp_path / "big.csv", 3_000_000)
    client = subprocess.Popen(
        ["curl", "-s", "-S", "-o", str(tmp_path / "reply.json"), "-w", "%{http_code}",
         "--data-binary", f"@{big}", "-H", "Content-Type: text/csv",
         f"{system.base_url}/upload-file?table={table}"],
        stdout=subprocess.PIPE, text=True)
    wait_for(lambda: log_has(system, "load begun") or client.poll() is not None, 60,
             "the loader to begin the upload")
    assert client.poll() is None, "the upload ended before a stage could be killed"
    return client


def open_copies(system, table):
    return system.query("SELECT count(*) FROM pg_stat_activity "
                        f"WHERE query LIKE 'COPY \"{table}\"%'")


def test_http_front_killed_mid_upload_leaves_the_loader_free(system, tmp_path):
    client = start_big_upload(system, tmp_path, "orphaned")
    http = wait_for_stage(system, "http")
    os.kill(http, signal.SIGKILL)
    client.communicate(timeout=60)
    wait_for_stage(system, "http", other_than=http)

    wait_for(lambda: log_has(system, "load abandoned"), 3 * UPLOAD_TIMEOUT_MS / 1000,
             "the loader to give up the upload whose client died")
    assert open_copies(system, "orphaned") == ["0"]
    assert not table_exists(system, "orphaned")
    status, reply, _ = upload(system.base_url, CASES / "reference.csv", "after_orphan")
    assert status == 201, reply


def test_broker_killed_mid_upload_leaves_the_loader_free(system, tmp_path):
    client = start_big_upload(system, tmp_path, "cut_off")
    broker = wait_for_stage(system, "broker")
    os.kill(broker, signal.SIGKILL)
    status = client.communicate(timeout=60)[0]
    reply = (tmp_path / "reply.json").read_text()

    if status == "201":
        # The restarted broker took the session over before a batch was lost: the whole file
        # must be there, since the loader refuses batches out of order.
        assert system.query("SELECT count(*) FROM cut_off") == ["3000000"], reply
    else:
        assert status == "503", reply
        wait_for(lambda: log_has(system, "load aborted") or log_has(system, "load abandoned"),
                 3 * UPLOAD_TIMEOUT_MS / 1000, "the loader to end the upload cut off by the kill")
        assert not table_exists(system, "cut_off")
    assert open_copies(system, "cut_off") == ["0"]
    status, reply, _ = upload(system.base_url, CASES / "reference.csv", "after_cut_off")
    assert status == 201, reply


def test_the_first_upload_after_postgres_restarted_succeeds(tmp_path, private_pg):
    (tmp_path / "system").mkdir()
    system = System(tmp_path / "system", private_pg.conninfo)
    try:
        status, reply = system.upload(CASES / "reference.csv")
        assert status == 201, reply

        private_pg.stop()
        private_pg.start()
        status, reply, _ = upload(system.base_url, CASES / "reference.csv", "after_restart")
        assert status == 201, reply
    finally:
        system.stop()
