"""Events end to end: large values travel whole, every event is logged, and a subscriber that
was away resumes from its last seq with every missed event exactly once."""
import json
import re
import subprocess

import msgpack

from conftest import BINARY, CASES, ROOT, subscriber, wait_for

VIEW = "reference_current_second"


def receive_event(socket):
    _topic, body = socket.recv_multipart()
    return msgpack.unpackb(body, raw=False)


def bus_endpoint(system):
    return re.search(r'^bus = "([^"]+)"', system.config.read_text(), re.M).group(1)


def last_seq(system, view):
    rows = system.query(f"SELECT last_seq FROM tinydevcrm.views WHERE name = '{view}'")
    return int(rows[0]) if rows else 0


def test_event_with_a_value_of_tens_of_kilobytes_arrives_whole(system, tmp_path):
    big = "".join(chr(ord("a") + i % 26) for i in range(60000))
    path = tmp_path / "wide.csv"
    path.write_text("n,blob\n" + "".join(f"{i},{big}{i}\n" for i in range(10)))
    events = subscriber(system.events_out, "wide_current_second")

    status, reply = system.upload(path)

    assert status == 201, reply
    event = receive_event(events)
    digit = event["rows"][0][0]
    assert event["rows"] == [[digit, f"{big}{digit}"]]
    assert event["row_count"] == 1 and event.get("truncated") is False


def test_every_published_event_is_in_the_event_log(system):
    status, reply = system.upload(CASES / "reference.csv")
    assert status == 201, reply
    events = subscriber(system.events_out, VIEW)

    live = [receive_event(events) for _ in range(3)]

    logged = system.query(f"SELECT seq, encode(payload, 'hex') FROM tinydevcrm.events "
                          f"WHERE view = '{VIEW}' AND seq BETWEEN {live[0]['seq']} "
                          f"AND {live[-1]['seq']} ORDER BY seq")
    assert [msgpack.unpackb(bytes.fromhex(row.split("|")[1]), raw=False) for row in logged] \
        == live


def test_resume_with_since_delivers_the_missed_events_exactly_once(system):
    events = subscriber(system.events_out, VIEW)
    seen = receive_event(events)["seq"]
    events.close()
    wait_for(lambda: last_seq(system, VIEW) >= seen + 3, 10, "three events while away")

    out = subprocess.run(["/usr/bin/python3", str(ROOT / "examples" / "subscriber.py"),
                          "--endpoint", system.events_out, "--bus", bus_endpoint(system),
                          "--view", VIEW, "--since", str(seen), "--count", "6"],
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    seqs = [json.loads(line)["seq"] for line in out.stdout.splitlines()]
    assert seqs == list(range(seen + 1, seen + 7)), seqs


def test_resume_reports_events_gone_from_the_log(system):
    system.query(f"DELETE FROM tinydevcrm.events WHERE view = '{VIEW}' AND seq <= 2")

    out = subprocess.run(["/usr/bin/python3", str(ROOT / "examples" / "subscriber.py"),
                          "--endpoint", system.events_out, "--bus", bus_endpoint(system),
                          "--view", VIEW, "--since", "0", "--count", "1"],
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    assert f"events 1 to 2 of {VIEW} are no longer in the event log" in out.stderr
    assert json.loads(out.stdout.splitlines()[0])["seq"] == 3


def test_sub_command_resumes_with_since_exactly_once(system):
    from conftest import BINARY
    events = subscriber(system.events_out, VIEW)
    seen = receive_event(events)["seq"]
    events.close()
    wait_for(lambda: last_seq(system, VIEW) >= seen + 3, 10, "three events while away")

    out = subprocess.run([BINARY, "sub", "--config", str(system.config), "--view", VIEW,
                          "--since", str(seen), "--count", "5"],
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    seqs = [json.loads(line)["seq"] for line in out.stdout.splitlines()]
    assert seqs == list(range(seen + 1, seen + 6)), seqs


def test_sub_since_with_a_view_prefix_or_an_unknown_view_fails_at_once(system):
    """`sub --since` given a prefix used to skip the replay silently, and given a view that does
    not exist it waited for ever."""
    status, reply = system.upload(CASES / "reference.csv", "table=prefixed")
    assert status == 201, reply

    outs = {view: subprocess.run([BINARY, "sub", "--config", str(system.config), "--view", view,
                                  "--since", "1", "--count", "1"],
                                 capture_output=True, text=True, timeout=30)
            for view in ("prefixed", "no_such_view")}

    for view, out in outs.items():
        assert out.returncode == 1, (view, out.stderr)
        assert out.stdout == "", (view, out.stdout)
        assert f"replay failed: view {view}: no view named {view}" in out.stderr, out.stderr
        assert "--since needs --view with one view's full name" in out.stderr, out.stderr


def test_sub_since_without_view_is_refused(system):
    out = subprocess.run([BINARY, "sub", "--config", str(system.config), "--since", "1"],
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 2, out.stderr
    assert "--since needs --view with the view's full name" in out.stderr, out.stderr


def test_sub_since_prints_only_the_resumed_view_not_others_it_is_a_prefix_of(system):
    view = "resumed_current_second"
    for table in ("resumed", f"{view}_x"):
        status, reply = system.upload(CASES / "reference.csv", f"table={table}")
        assert status == 201, reply
    wait_for(lambda: last_seq(system, f"{view}_x_current_second") >= 1 and
             last_seq(system, view) >= 1, 10, "an event of each view")
    since = last_seq(system, view)

    out = subprocess.run([BINARY, "sub", "--config", str(system.config), "--view", view,
                          "--since", str(since), "--count", "3"],
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["view"], e["seq"]) for e in events] == [(view, since + i) for i in (1, 2, 3)]
