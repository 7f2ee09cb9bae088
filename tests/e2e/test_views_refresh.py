"""View refresh end to end: concurrent refresh on duplicate rows, merged ticks of a slow view,
failing refreshes recorded without stopping the others, and the bounded refresh history."""
import datetime

import msgpack

from conftest import CASES, subscriber, wait_for

HISTORY_PER_VIEW = 100  # the default of [views] refresh_history (common/config.hpp)


def receive_events(socket, count):
    events = []
    for _ in range(count):
        _topic, body = socket.recv_multipart()
        events.append(msgpack.unpackb(body, raw=False))
    return events


def unix_second(as_of):
    at = datetime.datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(at.replace(tzinfo=datetime.timezone.utc).timestamp())


def assert_one_event_a_second(events):
    seconds = [unix_second(event["as_of"]) for event in events]
    assert [b - a for a, b in zip(seconds, seconds[1:])] == [1] * (len(events) - 1), seconds
    seqs = [event["seq"] for event in events]
    assert [b - a for a, b in zip(seqs, seqs[1:])] == [1] * (len(events) - 1), seqs


def make_view(system, name, table, select):
    """Makes a view the way the product does: row key column, unique index, catalog row."""
    quoted = select.replace("'", "''")
    system.query(f"""
        CREATE MATERIALIZED VIEW "{name}" AS
            SELECT row_number() OVER () AS tdc_row, q.* FROM ({select}) AS q;
        CREATE UNIQUE INDEX ON "{name}" (tdc_row);
        INSERT INTO tinydevcrm.views (name, source_table, sql)
            VALUES ('{name}', '{table}', '{quoted}');""")


def refreshes(system, view, where="true"):
    return system.query(f"SELECT tick, row_count, coalesce(error, ''), merged_ticks "
                        f"FROM tinydevcrm.refreshes WHERE view = '{view}' AND {where} "
                        f"ORDER BY id")


def test_duplicate_rows_refresh_concurrently_and_events_carry_every_copy(system, tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text("n,label\n" + "".join(f"{i % 10},same\n" for i in range(30)))
    events = subscriber(system.events_out, "dups_current_second")

    status, reply = system.upload(path)

    assert status == 201, reply
    assert reply["views"][0] == {"name": "dups_current_second", "created": True, "reason": ""}
    received = receive_events(events, 4)
    for event in received:
        digit = unix_second(event["as_of"]) % 10
        assert event["columns"] == ["n", "label"]
        assert event["row_count"] == 3
        assert event["rows"] == [[digit, "same"]] * 3
    assert_one_event_a_second(received)
    history = refreshes(system, "dups_current_second")
    assert history, "no refresh recorded"
    assert all(row.split("|")[2] == "" for row in history), history
    # Ticks arrive ahead of their boundary; a refresh never begins before it, and records
    # when its commit returned.
    early = refreshes(system, "dups_current_second", "started < to_timestamp(tick)")
    assert early == [], f"refreshes begun before their tick's boundary: {early}"
    uncommitted = refreshes(system, "dups_current_second",
                            "committed IS NULL OR committed < started")
    assert uncommitted == [], f"successful refreshes without a commit time: {uncommitted}"


def test_slow_view_merges_ticks_while_the_reference_view_keeps_its_pace(system):
    status, reply = system.upload(CASES / "reference.csv")
    assert status == 201, reply
    events = subscriber(system.events_out, "reference_current_second")
    receive_events(events, 1)

    make_view(system, "slow", "reference", "SELECT 1 AS one FROM pg_sleep(2.5)")

    wait_for(lambda: "tick merged view=slow" in system.log_path.read_text(), 15,
             "a tick merged into the slow view's refresh")
    assert_one_event_a_second(receive_events(events, 5))
    merged = wait_for(lambda: refreshes(system, "slow", "merged_ticks > 0"), 15,
                      "a slow refresh recorded with its merged ticks")
    tick, row_count, error, merged_ticks = merged[0].split("|")
    assert row_count == "1" and error == "" and int(merged_ticks) >= 1, merged
    ticks = [int(row.split("|")[0]) for row in refreshes(system, "slow")]
    assert len(ticks) == len(set(ticks)), f"a tick refreshed twice: {ticks}"
    system.query("DELETE FROM tinydevcrm.views WHERE name = 'slow'; DROP MATERIALIZED VIEW slow")


def test_failing_refresh_is_recorded_and_retried_while_other_views_go_on(system):
    system.query("CREATE TABLE IF NOT EXISTS toggle (n int); INSERT INTO toggle VALUES (1)")
    make_view(system, "fragile", "toggle", "SELECT 1 / (SELECT count(*)::int FROM toggle) AS x")
    events = subscriber(system.events_out, "reference_current_second")
    receive_events(events, 1)

    system.query("DELETE FROM toggle")

    failed = wait_for(lambda: refreshes(system, "fragile", "error IS NOT NULL"), 10,
                      "the failing refresh to be recorded")
    assert "division by zero" in failed[0], failed
    assert refreshes(system, "fragile", "error IS NOT NULL AND committed IS NOT NULL") == []
    assert_one_event_a_second(receive_events(events, 4))
    failures = len(refreshes(system, "fragile", "error IS NOT NULL"))
    assert failures >= 3, "the failing view was not retried at each tick"
    warnings = [line for line in system.log_path.read_text().splitlines()
                if " warning " in line and "refresh failed view=fragile" in line]
    assert len(warnings) == 1, warnings  # rate-limited: one warn, the rest at debug

    system.query("INSERT INTO toggle VALUES (1)")

    wait_for(lambda: "refresh recovered view=fragile" in system.log_path.read_text(), 10,
             "the view to refresh again once its error is gone")


def test_refresh_history_is_trimmed_to_its_bound(system):
    view = "reference_current_second"
    system.query(f"""
        INSERT INTO tinydevcrm.refreshes (view, tick, started, duration_ms)
        SELECT '{view}', g, now(), 0 FROM generate_series(1, {HISTORY_PER_VIEW + 50}) AS g""")

    wait_for(lambda: system.query(f"SELECT count(*) FROM tinydevcrm.refreshes "
                                  f"WHERE view = '{view}'") == [str(HISTORY_PER_VIEW)], 10,
             f"the history to be trimmed to {HISTORY_PER_VIEW} rows")
    remaining = system.query(f"SELECT count(*) FROM tinydevcrm.refreshes WHERE view = '{view}' "
                             f"AND tick <= {HISTORY_PER_VIEW + 50}")
    assert int(remaining[0]) < HISTORY_PER_VIEW, "the newest rows were trimmed, not the oldest"


def test_view_without_row_key_is_rebuilt_and_then_refreshes_concurrently(system):
    # A view made by plain CREATE (an older version, or a table replaced with its views) has no
    # unique index, so REFRESH ... CONCURRENTLY refuses it; the refresher rebuilds it once.
    system.query("""
        CREATE MATERIALIZED VIEW legacy AS SELECT 7 AS seven FROM reference LIMIT 2;
        INSERT INTO tinydevcrm.views (name, source_table, sql)
            VALUES ('legacy', 'reference', 'SELECT 7 AS seven FROM reference LIMIT 2')""")
    events = subscriber(system.events_out, "legacy")

    event = receive_events(events, 1)[0]

    assert event["columns"] == ["seven"] and event["rows"] == [[7], [7]]
    assert "view rebuilt view=legacy" in system.log_path.read_text()
    assert system.query("SELECT count(*) FROM pg_indexes WHERE tablename = 'legacy'") == ["1"]
