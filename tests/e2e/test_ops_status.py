"""GET /status and GET /metrics show a live system: every stage with its pid, heartbeat and
restarts, the last tick, recent uploads, and counters in the Prometheus text format."""
import re

from conftest import CASES, ROOT, wait_for
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


def test_status_shows_each_views_last_refresh_and_events_sent(system):
    events = Subscriber(system.events_out, "status_reference")
    status, reply = system.upload(CASES / "reference.csv", "table=status_reference")
    assert status == 201, reply
    assert events.next_event(15) is not None
    events.close()

    view = wait_for(lambda: view_status(system, "status_reference_current_second"), 10,
                    "/status to show the view's refresh and events")

    last = view["last_refresh"]
    assert view["table"] == "status_reference"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", last["as_of"]), last
    assert last["duration_ms"] > 0 and last["rows"] == 1 and last["error"] is None, last
    assert last["ms_ago"] < 3000
    assert view["refreshes"] >= 1 and view["refresh_failures"] == 0
    assert view["events"]["sent"] >= 1 and view["events"]["last_seq"] >= 1
    _, report = get_json(system.base_url, "/status")
    upload = next(u for u in report["uploads"] if u["table"] == "status_reference")
    assert upload["duration_ms"] > 0, upload
    assert "histograms" not in report


def view_status(system, name):
    status, report = get_json(system.base_url, "/status")
    view = next((v for v in report.get("views", []) if v["view"] == name), None)
    if status == 200 and view and view["last_refresh"] and view["events"]["sent"] > 0:
        return view
    return None


def test_metrics_parse_and_their_histograms_fill_after_an_upload_and_a_few_ticks(system):
    from prometheus_client.parser import text_string_to_metric_families
    view = "histogram_reference_current_second"
    status, reply = system.upload(CASES / "reference.csv", "table=histogram_reference")
    assert status == 201, reply

    families = wait_for(lambda: refreshed_times(system, view, 3), 15,
                        "/metrics to time three refreshes of the view")

    load = check_histogram(families["tdc_load_duration_seconds"].samples, {})
    assert load >= 1
    assert check_histogram(families["tdc_refresh_duration_seconds"].samples, {"view": view}) >= 3
    per_view = {(s.name, s.labels.get("view")): s.value
                for f in families.values() for s in f.samples}
    assert per_view[("tdc_refresh_failures_total", view)] == 0
    assert ("tdc_refresh_merged_ticks_total", view) in per_view
    assert per_view[("tdc_view_events_published_total", view)] >= 1
    assert families["tdc_load_duration_seconds"].type == "histogram"


def refreshed_times(system, view, times):
    """{family name: family} from /metrics, parsed, once `view` has `times` timed refreshes
    and an event."""
    from prometheus_client.parser import text_string_to_metric_families
    status, text = get(system.base_url, "/metrics")
    assert status == 200, text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    counts = [s.value for s in families["tdc_refresh_duration_seconds"].samples
              if s.name.endswith("_count") and s.labels.get("view") == view]
    events = [s.value for s in families["tdc_view_events_published"].samples
              if s.labels.get("view") == view]
    return families if counts and counts[0] >= times and events and events[0] >= 1 else None


def check_histogram(samples, labels):
    """Checks the histogram with `labels` among `samples`: buckets cumulative, ending with
    +Inf equal to _count, a _sum; returns its count."""
    mine = [s for s in samples
            if {k: v for k, v in s.labels.items() if k != "le"} == labels]
    buckets = [(float(s.labels["le"]), s.value) for s in mine if s.name.endswith("_bucket")]
    count = next(s.value for s in mine if s.name.endswith("_count"))
    total = next(s.value for s in mine if s.name.endswith("_sum"))
    assert buckets == sorted(buckets), buckets
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
    assert buckets[-1] == (float("inf"), count), buckets
    assert total > 0 and count > 0
    return count


def test_a_failing_view_shows_its_error_in_status_and_counts_failures_in_metrics(system):
    system.query("CREATE TABLE status_toggle (n int)")
    quoted = "SELECT 1 / (SELECT count(*)::int FROM status_toggle) AS x".replace("'", "''")
    system.query(f"""
        INSERT INTO status_toggle VALUES (1);
        CREATE MATERIALIZED VIEW status_fragile AS SELECT row_number() OVER () AS tdc_row, q.*
            FROM ({quoted}) AS q;
        CREATE UNIQUE INDEX ON status_fragile (tdc_row);
        INSERT INTO tinydevcrm.views (name, source_table, sql)
            VALUES ('status_fragile', 'status_toggle', '{quoted}');
        DELETE FROM status_toggle;""")

    view = wait_for(lambda: failing_view(system, "status_fragile"), 10,
                    "/status to show the view's failed refresh")

    assert "division by zero" in view["last_refresh"]["error"], view
    assert view["last_refresh"]["as_of"] is None and view["last_refresh"]["rows"] is None
    _, text = get(system.base_url, "/metrics")
    failures = re.search(r'^tdc_refresh_failures_total\{view="status_fragile"\} (\d+)$', text,
                         re.M)
    assert failures and int(failures.group(1)) >= 1, text


def failing_view(system, name):
    _, report = get_json(system.base_url, "/status")
    view = next((v for v in report.get("views", []) if v["view"] == name), None)
    return view if view and view["refresh_failures"] >= 1 else None


def test_every_field_of_status_is_documented_in_operations(system):
    """`launcher_report_ms_ago`, in every stage a launcher reports, was in no document."""
    pids = stage_pids(system.process.pid)
    report = wait_for(lambda: complete_status(system, pids), 10, "/status to show every stage")
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    section = text[text.index("## Status and metrics"):text.index("## Several hosts")]

    fields = set(report) | set(report["counters"])
    for stage in report["stages"]:
        fields |= set(stage)
    missing = sorted(f for f in fields - {"kind", "v"}
                     if f"`{f}`" not in section and f"`{f}[]`" not in section)

    assert missing == [], f"GET /status fields not described in docs/OPERATIONS.md: {missing}"
