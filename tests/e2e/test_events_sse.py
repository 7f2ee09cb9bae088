"""GET /events: the event stream as Server-Sent Events, filtered by view."""
import json
import urllib.request

from conftest import CASES
from test_pipeline import second_of


def read_events(url, count):
    """Reads `count` SSE events from `url`; returns [(id, parsed data)]."""
    events, event_id = [], None
    with urllib.request.urlopen(url, timeout=10) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                events.append((event_id, json.loads(line[6:])))
                if len(events) == count:
                    return events
    raise AssertionError(f"the stream ended after {len(events)} events")


def test_events_stream_as_server_sent_events(system):
    status, reply = system.upload(CASES / "reference.csv", "table=sse_reference")
    assert status == 201, reply

    events = read_events(system.base_url + "/events?view=sse_reference", 2)

    for event_id, event in events:
        assert event["view"] == "sse_reference_current_second"
        assert event_id == event["seq"]
        assert event["rows"] == [[second_of(event["as_of"]).second % 10]]
    assert events[1][1]["seq"] == events[0][1]["seq"] + 1


def test_view_filter_leaves_other_views_out(system):
    status, _ = system.upload(CASES / "single_row.csv", "table=sse_other")
    assert status == 201
    status, _ = system.upload(CASES / "reference.csv", "table=sse_wanted")
    assert status == 201
    for _, event in read_events(system.base_url + "/events?view=sse_wanted", 2):
        assert event["view"].startswith("sse_wanted")


def test_last_event_id_resumes_from_the_event_log(system):
    from conftest import wait_for
    status, _ = system.upload(CASES / "reference.csv", "table=sse_resume")
    assert status == 201
    view = "sse_resume_current_second"
    first_id, _ = read_events(f"{system.base_url}/events?view={view}", 1)[0]

    def last_seq():
        return int(system.query(f"SELECT last_seq FROM tinydevcrm.views WHERE name = '{view}'")[0])

    wait_for(lambda: last_seq() >= first_id + 3, 10, "three more events while away")
    request = urllib.request.Request(f"{system.base_url}/events?view={view}",
                                     headers={"Last-Event-ID": str(first_id)})
    resumed = read_events(request, 4)

    seqs = [event["seq"] for _, event in resumed]
    assert seqs == list(range(first_id + 1, first_id + 5)), seqs
    for event_id, event in resumed:
        assert event_id == event["seq"]
        assert event["rows"] == [[second_of(event["as_of"]).second % 10]]
