"""Faults the system must survive: a loader killed mid-upload, PostgreSQL restarted, the
broker killed, and stages started before the broker and the database. Every test runs its
own system (and, where it stops PostgreSQL, its own cluster)."""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BINARY, CASES, ROOT, System, free_port, server_url, wait_for
from test_ops_support import (Subscriber, env_with_database, get_json, log_has, private_pg,
                              stage_pids, table_exists, upload, wait_for_stage,
                              write_numbers_csv)

# How long a client may wait for its 503 after the loader died.
CLEAR_ERROR_WITHIN_S = 5


@pytest.fixture
def system(tmp_path):
    running = System(tmp_path, server_url())
    yield running
    running.stop()


def test_killed_loader_fails_the_upload_fast_and_leaves_nothing(system, tmp_path):
    big = write_numbers_csv(tmp_path / "big.csv", 3_000_000)
    first_loader = wait_for_stage(system, "loader")
    client = subprocess.Popen(
        ["curl", "-s", "-S", "-o", str(tmp_path / "reply.json"), "-w", "%{http_code}",
         "--data-binary", f"@{big}", "-H", "Content-Type: text/csv",
         f"{system.base_url}/upload-file?table=big"],
        stdout=subprocess.PIPE, text=True)

    wait_for(lambda: log_has(system, "load begun") or client.poll() is not None, 60,
             "the loader to begin the upload")
    assert client.poll() is None, "the upload ended before the loader could be killed"
    os.kill(first_loader, signal.SIGKILL)
    killed_at = time.monotonic()
    status = client.communicate(timeout=60)[0]
    waited = time.monotonic() - killed_at

    assert status == "503", (tmp_path / "reply.json").read_text()
    assert "loader_unavailable" in (tmp_path / "reply.json").read_text()
    assert waited < CLEAR_ERROR_WITHIN_S, f"the 503 came {waited:.1f} s after the kill"
    assert not table_exists(system, "big")
    wait_for_stage(system, "loader", other_than=first_loader)
    small = write_numbers_csv(tmp_path / "small.csv", 1000)
    status, reply, _ = upload(system.base_url, small, "big")
    assert status == 201, reply
    assert system.query("SELECT count(*) FROM big") == ["1000"]
    wait_for(lambda: loader_restarts(system) == 1, 5, "/status to count the loader's restart")


def loader_restarts(system):
    _, report = get_json(system.base_url, "/status")
    return sum(s.get("restarts", 0) for s in report["stages"] if s["stage"] == "loader")


def test_postgres_restart_resumes_events_and_keeps_what_was_acknowledged(tmp_path,
                                                                         private_pg):
    (tmp_path / "system").mkdir()
    system = System(tmp_path / "system", private_pg.conninfo)
    try:
        events = Subscriber(system.events_out, "reference")
        status, reply = system.upload(CASES / "reference.csv")
        assert status == 201, reply
        before = events.next_event(15)
        assert before is not None, "no event before the restart"

        private_pg.stop()
        private_pg.start()
        restarted_at = time.monotonic()
        after = wait_for(lambda: newer_event(events, before["seq"]), 15,
                         "an event after PostgreSQL restarted")
        resumed_in = time.monotonic() - restarted_at

        assert resumed_in < 5, f"events resumed {resumed_in:.1f} s after the restart"
        assert after["seq"] > before["seq"]
        assert system.query("SELECT count(*) FROM reference") == ["10"]
        assert system.process.poll() is None
        assert not log_has(system, "stage exited"), "a stage crashed on the lost database"
        events.close()
    finally:
        system.stop()


def newer_event(events, seq):
    event = events.next_event(0.5)
    return event if event and event["seq"] > seq else None


def test_killed_broker_is_restarted_and_everyone_reconnects(system, tmp_path):
    events = Subscriber(system.events_out, "reference")
    status, reply = system.upload(CASES / "reference.csv")
    assert status == 201, reply
    last = events.next_event(15)
    assert last is not None, "no event before the kill"

    broker = wait_for_stage(system, "broker")
    os.kill(broker, signal.SIGKILL)
    while (event := events.next_event(0)) is not None:  # what the old broker delivered
        last = event
    wait_for_stage(system, "broker", other_than=broker)
    killed_at = time.monotonic()

    wait_for(lambda: newer_event(events, last["seq"]), 20, "an event through the new broker")
    resumed_in = time.monotonic() - killed_at
    status, reply, _ = upload(system.base_url, write_numbers_csv(tmp_path / "after.csv", 100),
                              "after_broker")
    assert status == 201, reply
    assert resumed_in < 10, f"events resumed {resumed_in:.1f} s after the broker restart"
    events.close()


def test_stages_started_before_broker_and_database_wait_for_them(tmp_path, private_pg):
    private_pg.stop()
    config, events_out, http_port = standalone_config(tmp_path)
    env = env_with_database(private_pg.conninfo)
    processes = {}
    try:
        for stage in ["loader", "view", "checker", "ticker", "http"]:
            processes[stage] = start_stage(stage, config, tmp_path, env)
        wait_for(lambda: "db connect failed" in stage_log(tmp_path, "loader"), 20,
                 "the loader to find the database down")

        private_pg.start()
        wait_for(lambda: "db connected" in stage_log(tmp_path, "loader"), 20,
                 "the loader to connect once the database is up")
        events = Subscriber(events_out, "reference")
        processes["broker"] = start_stage("broker", config, tmp_path, env)
        base_url = f"http://127.0.0.1:{http_port}"
        status, reply, _ = upload(base_url, CASES / "reference.csv", "reference")

        assert status == 201, reply
        assert events.next_event(15) is not None, "no event once everything came up"
        events.close()
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=20)


def standalone_config(tmp_path):
    http_port = free_port()
    events_out = f"tcp://127.0.0.1:{free_port()}"
    config = tmp_path / "tinydevcrm.toml"
    config.write_text(f"""
[database]
data_dir = "{tmp_path / 'var'}"
[endpoints]
bus = "tcp://127.0.0.1:{free_port()}"
events_in = "tcp://127.0.0.1:{free_port()}"
events_out = "{events_out}"
[http]
port = {http_port}
web_root = "{ROOT / 'web'}"
[log]
level = "debug"
""")
    return config, events_out, http_port


def start_stage(stage, config, tmp_path, env):
    log = open(tmp_path / f"{stage}.log", "w")
    return subprocess.Popen([BINARY, stage, "--config", str(config)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)


def stage_log(tmp_path, stage):
    return (tmp_path / f"{stage}.log").read_text(errors="replace")


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_an_orderly_stop_logs_no_warning_or_error(tmp_path, mode):
    """Stopping with SIGTERM used to log `worker dropped` (and, when a refresh was under way,
    `message dropped ... no worker registered`) at warn as the stages left one by one."""
    running = System(tmp_path, server_url(), extra=f'[launch]\nmode = "{mode}"')
    try:
        events = Subscriber(running.events_out, "reference")
        status, reply = running.upload(CASES / "reference.csv")
        assert status == 201, reply
        assert events.next_event(15) is not None
        events.close()
        started = len(running.log_path.read_text().splitlines())
    finally:
        running.stop()

    assert running.process.returncode == 0
    stopping = running.log_path.read_text().splitlines()[started:]
    assert any("stopped" in line for line in stopping), stopping
    bad = [line for line in stopping
           if line.split(" ")[1:2] in (["warn"], ["warning"], ["error"], ["critical"])]
    assert bad == [], "\n".join(bad)


def start_upload(system, path, reply_path):
    """Starts uploading `path` as table `big` with curl (status on stdout, reply in
    `reply_path`) and returns it once the loader has begun the load."""
    client = subprocess.Popen(
        ["curl", "-s", "-S", "-o", str(reply_path), "-w", "%{http_code}",
         "--data-binary", f"@{path}", "-H", "Content-Type: text/csv",
         f"{system.base_url}/upload-file?table=big"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: log_has(system, "load begun") or client.poll() is not None, 60,
             "the loader to begin the upload")
    assert client.poll() is None, "the upload ended before the stop"
    return client


def test_a_stop_during_an_upload_finishes_it_or_refuses_it_cleanly(system, tmp_path):
    """SIGTERM to the launcher while a large upload loads: the client gets a real answer (201
    with every row, or a JSON 503 and no table), never a dropped connection, and every process
    is gone within the stop's bound."""
    rows = 3_000_000
    big = write_numbers_csv(tmp_path / "big.csv", rows)
    client = start_upload(system, big, tmp_path / "reply.json")

    system.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    status, errors = client.communicate(timeout=60)
    system.process.wait(timeout=30)
    took = time.monotonic() - stopped_at

    reply = (tmp_path / "reply.json").read_text() if (tmp_path / "reply.json").exists() else ""
    assert status in ("201", "503"), f"status {status!r}, curl: {errors}, reply: {reply}"
    if status == "201":
        assert system.query("SELECT count(*) FROM big") == [str(rows)]
    else:
        assert '"error"' in reply, reply
        assert not table_exists(system, "big")
    assert system.process.returncode == 0
    assert took < 15, f"the launcher took {took:.1f} s to stop"


def test_an_upload_sent_while_the_server_stops_is_refused_with_503(system, tmp_path):
    big = write_numbers_csv(tmp_path / "big.csv", 3_000_000)
    client = start_upload(system, big, tmp_path / "reply.json")
    system.process.send_signal(signal.SIGTERM)
    wait_for(lambda: log_has(system, "http draining"), 10, "the HTTP front to begin its stop")

    status, reply, _ = upload(system.base_url, write_numbers_csv(tmp_path / "late.csv", 10),
                              "late")
    client.communicate(timeout=60)
    system.process.wait(timeout=30)

    assert status == 503, reply
    assert reply["error"] == "shutting_down", reply
    assert not table_exists(system, "late")


def test_a_stop_while_a_client_floods_a_chunked_body_is_clean(system):
    """A chunked body far over the limit, sent by a client that never reads, used to keep the
    HTTP front busy refusing it again and again: the stop then took 10 s and killed stages."""
    port = int(system.base_url.rsplit(":", 1)[1])
    flood = socket.create_connection(("127.0.0.1", port))
    flood.settimeout(20)
    flood.sendall(b"POST /upload-file?table=flood HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n")
    # Lines end in CRLF: with bare LF, Pistache's chunk parser, once a read splits a chunk from
    # its CRLF, searches ever longer for the next chunk size and can hold its thread past the
    # stop (seen in 2 of 25 runs; a library fault, listed in docs/OPERATIONS.md).
    piece = b"100000\r\n" + b"77\r\n" * 0x40000 + b"\r\n"
    flooding = threading.Thread(target=send_until_cut, args=(flood, piece))
    flooding.start()
    time.sleep(1)

    system.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    system.process.wait(timeout=30)
    took = time.monotonic() - stopped_at
    flooding.join(timeout=30)
    flood.close()

    assert system.process.returncode == 0
    assert took < 15, f"the launcher took {took:.1f} s to stop"
    log = system.log_path.read_text()
    assert "stage killed" not in log and "stage stuck" not in log, log[-3000:]
    assert not table_exists(system, "flood")


def send_until_cut(connection, piece, limit=2 << 30):
    sent = 0
    try:
        while sent < limit:
            connection.sendall(piece)
            sent += len(piece)
    except OSError:
        pass
