"""The [views] and [events] bounds of the configuration reach the stages: events cut at
max_rows or max_bytes say truncated with the full row_count, the event log and the refresh
history keep their configured sizes, refreshes and view creation stop at their timeouts, and
the broker's subscription count leaves the handshake's topics out."""
import json
import urllib.error
import urllib.request

import msgpack
import pytest
import zmq

from conftest import SYNC_PREFIX, System, handshake, server_url, subscriber, wait_for
from test_ops_support import get_json

BOUNDS = """
[events]
max_rows = 3
max_bytes = 2048
log_per_view = 4
[views]
refresh_history = 3
refresh_timeout_ms = 1000
create_timeout_ms = 5000
"""


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("bounded"), server_url(), extra=BOUNDS)
    yield running
    assert running.process.poll() is None, "tinydevcrm run died during the tests"
    running.stop()
    assert running.process.returncode == 0, running.log_path.read_text()[-4000:]


def subscriptions(system):
    status, report = get_json(system.base_url, "/status")
    assert status == 200, report
    return report["counters"]["subscriptions"]


# First in this module: the system's only other subscribers are its own two.
def test_status_counts_subscriptions_to_views_but_not_sync_topics(bounded):
    # The logger stage and the HTTP front's event stream subscribe to every view.
    wait_for(lambda: subscriptions(bounded) == 2, 10, "the two subscribers of the system")
    socket = subscriber(bounded.events_out, "probe_view")
    for _ in range(3):
        socket.setsockopt(zmq.SUBSCRIBE, SYNC_PREFIX + b"kept")  # answered, never unsubscribed
        handshake(socket)

    assert subscriptions(bounded) == 3
    socket.close()


def write_csv(path, rows):
    path.write_text("n,label\n" + "".join(f"{n},{label}\n" for n, label in rows))
    return path


def first_event(system, table, path):
    events = subscriber(system.events_out, f"{table}_current_second")
    status, reply = system.upload(path, f"table={table}")
    assert status == 201, reply
    _topic, body = events.recv_multipart()
    events.close()
    return msgpack.unpackb(body, raw=False)


def test_event_stops_at_max_rows_and_keeps_the_full_row_count(bounded, tmp_path):
    rows = [(i % 10, f"r{i}") for i in range(500)]  # 50 rows for each last digit of a second

    event = first_event(bounded, "capped_rows", write_csv(tmp_path / "rows.csv", rows))

    digit = event["rows"][0][0]
    assert event["row_count"] == 50 and event["truncated"] is True, event
    assert len(event["rows"]) == 3
    assert all(row in [[n, label] for n, label in rows if n == digit] for row in event["rows"])


def test_event_stops_at_max_bytes_and_keeps_the_full_row_count(bounded, tmp_path):
    # Each row counts 9 bytes for the integer and 1,005 for the text: two fit in 2,048.
    rows = [(i % 10, f"{i:04d}" + "x" * 996) for i in range(100)]

    event = first_event(bounded, "capped_bytes", write_csv(tmp_path / "bytes.csv", rows))

    assert event["row_count"] == 10 and event["truncated"] is True, event
    assert len(event["rows"]) == 2
    assert all(len(row[1]) == 1000 for row in event["rows"])


def test_event_log_and_refresh_history_keep_their_configured_sizes(bounded, tmp_path):
    view = "kept_current_second"
    rows = [(i, f"r{i}") for i in range(10)]
    status, reply = bounded.upload(write_csv(tmp_path / "kept.csv", rows), "table=kept")
    assert status == 201, reply

    wait_for(lambda: last_seq(bounded, view) >= 6, 15, "six events of the view")

    logged = bounded.query(f"SELECT count(*) FROM tinydevcrm.events WHERE view = '{view}'")
    history = bounded.query(f"SELECT count(*) FROM tinydevcrm.refreshes WHERE view = '{view}'")
    assert logged == ["4"] and history == ["3"], (logged, history)


def last_seq(system, view):
    return int(system.query(f"SELECT last_seq FROM tinydevcrm.views WHERE name = '{view}'")[0])


def post_view(system, name, sql):
    request = urllib.request.Request(f"{system.base_url}/views", method="POST",
                                     data=json.dumps({"name": name, "sql": sql}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_refresh_and_view_creation_stop_at_their_timeouts(bounded, tmp_path):
    status, reply = bounded.upload(write_csv(tmp_path / "slow.csv", [(1, "a")]), "table=slow")
    assert status == 201, reply

    made, detail = post_view(bounded, "slow_refresh", "SELECT n FROM slow, pg_sleep(2)")
    refused, error = post_view(bounded, "too_slow", "SELECT n FROM slow, pg_sleep(6)")

    assert made == 201, detail
    assert refused == 400 and "statement timeout" in error["detail"], error

    def failed_refresh():
        _, shown = get_json(bounded.base_url, "/views/slow_refresh")
        return [r for r in shown["refreshes"] if "statement timeout" in (r["error"] or "")]
    wait_for(failed_refresh, 15, "a refresh of slow_refresh cancelled at 1 s")
