"""GET /status and GET /metrics show a live system: every stage with its pid, heartbeat and
restarts, the last tick, recent uploads, and counters in the Prometheus text format."""
import re

from conftest import CASES, wait_for
from test_ops_support import Subscriber, get, get_json, stage_pids


def test_status_lists_every_stage_the_last_tick_and_recent_uploads(system):
    status, reply = system.upload(CASES / "reference.csv")
    assert status == 201, reply
    pids = stage_pids(system.process.pid)

    report = wait_for(lambda: complete_status(system, pids), 10,
                      "/status to show every stage and a tick")

    loader = next(s for s in report["stages"] if s["stage"] == "loader" and "restarts" in s)
    assert loader["pid"] == pids["loader"][0]
    assert loader["up"] is True and loader["restarts"] == 0
    assert loader["last_heartbeat_ms_ago"] < 3000
    assert loader["host"]
    assert report["last_tick"]["ms_ago"] < 3000
    assert any(u["table"] == "reference" and u["ok"] and u["rows"] == 10
               for u in report["uploads"])


def complete_status(system, pids):
    status, report = get_json(system.base_url, "/status")
    if status != 200 or not report.get("last_tick"):
        return None
    reported = {s["stage"]: s.get("pid") for s in report["stages"] if "restarts" in s}
    return report if all(reported.get(stage) == p[0] for stage, p in pids.items()) else None


def test_metrics_count_uploads_rows_events_and_restarts(system):
    events = Subscriber(system.events_out, "reference")
    system.upload(CASES / "reference.csv", "table=metrics_reference")
    assert events.next_event(15) is not None
    events.close()

    text = wait_for(lambda: metrics_with_events(system), 10, "/metrics to count an event")

    assert re.search(r'^tdc_uploads_total\{result="ok"\} [1-9]', text, re.M), text
    assert re.search(r"^tdc_rows_loaded_total [1-9]", text, re.M), text
    assert re.search(r'^tdc_stage_restarts_total\{stage="loader",.*\} 0$', text, re.M), text
    assert re.search(r'^tdc_stage_up\{stage="broker",.*\} 1$', text, re.M), text
    assert "# TYPE tdc_events_published_total counter" in text


def metrics_with_events(system):
    status, text = get(system.base_url, "/metrics")
    if status == 200 and re.search(r"^tdc_events_published_total [1-9]", text, re.M):
        return text
    return None
