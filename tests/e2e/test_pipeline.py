"""The reference CSV, end to end: upload over HTTP, one event a second to subscribers."""
import datetime
import json
import os
import subprocess
import sys

import msgpack

from conftest import CASES, ROOT, subscriber, wait_for


def receive_event(socket):
    topic, body = socket.recv_multipart()
    return topic.decode(), msgpack.unpackb(body, raw=False)


def second_of(as_of):
    return datetime.datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def test_reference_upload_streams_one_event_a_second(system):
    events = subscriber(system.events_out, "reference")

    status, reply = system.upload(CASES / "reference.csv")

    assert status == 201, reply
    assert reply["table"] == "reference"
    assert reply["columns"] == [{"name": "AColumnOfNumbers", "type": "integer"}]
    assert reply["rows"] == 10
    assert reply["views"][0]["name"] == "reference_current_second"
    assert reply["views"][0]["created"] is True

    received = [receive_event(events) for _ in range(6)]
    seconds = []
    for topic, event in received:
        assert topic == "reference_current_second"
        assert event["kind"] == "event" and event["v"] == 1
        assert event["view"] == topic and event["table"] == "reference"
        assert event["columns"] == ["AColumnOfNumbers"]
        assert event["row_count"] == 1 and len(event["rows"]) == 1
        at = second_of(event["as_of"])
        assert event["rows"][0] == [at.second % 10], event
        seconds.append(int(at.timestamp()))
    # The first event may come from a refresh that ran before we joined; from then on the
    # seconds are consecutive and seq grows by one.
    assert [b - a for a, b in zip(seconds, seconds[1:])] == [1] * 5, seconds
    seqs = [event["seq"] for _, event in received]
    assert [b - a for a, b in zip(seqs, seqs[1:])] == [1] * 5, seqs

    expected_lines = [(f"event view=reference_current_second seq={event['seq']} "
                       f"as_of={event['as_of']} row_count=1 rows=[[{event['rows'][0][0]}]]")
                      for _, event in received]
    wait_for(lambda: all(line in system.log_path.read_text() for line in expected_lines), 5,
             "the logger stage to log every event received")


def test_sub_command_prints_json_lines(system):
    from conftest import BINARY
    out = subprocess.run([BINARY, "sub", "--config", str(system.config), "--view", "reference",
                          "--count", "2"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[1]["seq"] == lines[0]["seq"] + 1
    assert lines[0]["rows"] == [[second_of(lines[0]["as_of"]).second % 10]]


def test_python_example_subscriber_receives_an_event(system):
    out = subprocess.run(["/usr/bin/python3", str(ROOT / "examples" / "subscriber.py"),
                          "--endpoint", system.events_out, "--view", "reference", "--count", "1"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    event = json.loads(out.stdout.splitlines()[0])
    assert event["view"] == "reference_current_second"
    assert event["rows"] == [[second_of(event["as_of"]).second % 10]]
