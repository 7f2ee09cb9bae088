"""No event is lost on join: a subscriber that has said it is subscribed (its handshake with
the broker is done) gets the very first event of a view made after that, every time."""
import json
import os
import selectors
import subprocess
import time
import urllib.request

from conftest import BINARY, CASES, ROOT
from test_pipeline import second_of

ROUNDS = 20


def read_line_with(stream, text, timeout=30):
    """Reads `stream` (a pipe) until a line contains `text`; fails after `timeout` s."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        if not selector.select(left):
            continue
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        received += chunk
        for line in received.decode(errors="replace").splitlines(keepends=True):
            if text in line and line.endswith("\n"):
                return line
    raise AssertionError(f"no line with {text!r} within {timeout} s; got {received!r}")


def upload_reference_as(system, table):
    status, reply = system.upload(CASES / "reference.csv", f"table={table}")
    assert status == 201, reply
    assert reply["views"][0]["name"] == f"{table}_current_second"
    return reply["views"][0]["name"]


def assert_first_event(event, view):
    assert event["view"] == view
    assert event["seq"] == 1, event
    assert event["rows"] == [[second_of(event["as_of"]).second % 10]], event


def first_event_of(process):
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[0])


def test_sub_started_before_an_upload_gets_seq_1_every_time(system):
    for round in range(ROUNDS):
        table = f"join_{round}"
        process = subprocess.Popen([BINARY, "sub", "--config", str(system.config),
                                    "--view", f"{table}_current_second", "--count", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            read_line_with(process.stderr, "tinydevcrm sub: subscribed")

            view = upload_reference_as(system, table)

            assert_first_event(first_event_of(process), view)
        finally:
            process.kill()
            process.wait()


def test_python_subscriber_started_before_an_upload_gets_seq_1(system):
    process = subprocess.Popen(["/usr/bin/python3", str(ROOT / "examples" / "subscriber.py"),
                                "--endpoint", system.events_out, "--view",
                                "join_py_current_second", "--count", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_line_with(process.stderr, "subscriber.py: subscribed")

        view = upload_reference_as(system, "join_py")

        assert_first_event(first_event_of(process), view)
    finally:
        process.kill()
        process.wait()


def test_browser_stream_opened_before_an_upload_gets_seq_1(system):
    view = "join_sse_current_second"
    with urllib.request.urlopen(f"{system.base_url}/events?view={view}", timeout=30) as stream:
        assert stream.readline() == b": connected\n"

        upload_reference_as(system, "join_sse")

        for raw in stream:
            if raw.startswith(b"data: "):
                assert_first_event(json.loads(raw[6:]), view)
                return
    raise AssertionError("the stream ended before any event")
