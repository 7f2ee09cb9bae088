"""The view API end to end: create a view over an uploaded table, see it refresh and publish,
read its definition and refresh history, refuse bad or harmful SQL, delete it."""
import json
import urllib.error
import urllib.request

import msgpack

from conftest import CASES, subscriber, wait_for


def call(system, method, path, body=None):
    """Sends one request; returns (status, parsed JSON reply)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(system.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_posted_view_refreshes_publishes_and_shows_its_history(system):
    status, reply = system.upload(CASES / "reference.csv")
    assert status == 201, reply
    events = subscriber(system.events_out, "evens")

    status, reply = call(system, "POST", "/views", {
        "name": "evens",
        "sql": 'SELECT "AColumnOfNumbers" AS n FROM reference WHERE "AColumnOfNumbers" % 2 = 0'})

    assert status == 201, reply
    assert reply["source_table"] == "reference"
    _topic, body = events.recv_multipart()
    event = msgpack.unpackb(body, raw=False)
    assert event["columns"] == ["n"]
    assert sorted(row[0] for row in event["rows"]) == [0, 2, 4, 6, 8]
    status, listing = call(system, "GET", "/views")
    assert status == 200
    assert {"evens", "reference_current_second"} <= {view["name"] for view in listing["views"]}
    status, detail = wait_for(lambda: (lambda r: r if r[1].get("refreshes") else None)(
        call(system, "GET", "/views/evens")), 10, "a refresh in the view's history")
    assert status == 200
    assert detail["sql"].startswith('SELECT "AColumnOfNumbers"')
    assert detail["events"] >= 1
    latest = detail["refreshes"][0]
    assert latest["rows"] == 5 and latest["error"] is None and latest["duration_ms"] >= 0
    owners = system.query("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                          "WHERE relname IN ('evens', 'reference_current_second')")
    assert owners == ["tinydevcrm_view_reader"], "views must run their SQL as the reader role"


def test_bad_sql_gets_400_with_postgresql_message(system):
    status, reply = call(system, "POST", "/views", {"name": "broken",
                                                    "sql": "SELECT nope FROM reference"})

    assert status == 400, reply
    assert reply["error"] == "bad_sql"
    assert 'column "nope" does not exist' in reply["detail"]
    assert system.query("SELECT count(*) FROM tinydevcrm.views WHERE name = 'broken'") == ["0"]


def test_bad_sql_error_quotes_the_users_statement_not_the_products_wrapper(system):
    """The 400 used to quote `SELECT * FROM (...) AS tdc_probe LIMIT 0` around the user's SQL,
    and its LINE and caret pointed into that wrapper."""
    status, reply = system.upload(CASES / "reference.csv", "table=wrapped")
    assert status == 201, reply

    misspelt = call(system, "POST", "/views", {"name": "misspelt",
                                               "sql": "SELECT *,\n  nope FROM wrapped"})
    not_a_query = call(system, "POST", "/views", {"name": "dropper",
                                                  "sql": "DROP TABLE wrapped"})
    writer = call(system, "POST", "/views", {
        "name": "writer2", "sql": "WITH gone AS (DELETE FROM wrapped RETURNING *) "
                                  "SELECT * FROM gone"})

    status, reply = misspelt
    assert status == 400 and reply["error"] == "bad_sql", reply
    assert 'column "nope" does not exist' in reply["detail"]
    # PostgreSQL's excerpt keeps its lines, so that its caret stands under the bad word.
    lines = reply["detail"].split("\n")
    excerpt = next(i for i, line in enumerate(lines) if line.startswith("LINE 2:"))
    assert lines[excerpt] == "LINE 2:   nope FROM wrapped", reply
    assert lines[excerpt + 1].index("^") == lines[excerpt].index("nope"), reply
    for status, reply in (not_a_query, writer):
        assert status == 400 and reply["error"] == "bad_sql", reply
        assert "ERROR:" in reply["detail"], reply
    assert "only one SELECT can become a view" in not_a_query[1]["detail"]
    assert "data-modifying statement" in writer[1]["detail"]
    for _, reply in (misspelt, not_a_query, writer):
        assert "tdc_" not in reply["detail"] and "LIMIT 0" not in reply["detail"], reply
    assert system.query("SELECT count(*) FROM wrapped") == ["10"]


def test_view_sql_cannot_touch_the_catalog_or_run_a_second_statement(system):
    catalog = call(system, "POST", "/views", {"name": "peek",
                                              "sql": "SELECT * FROM tinydevcrm.views"})
    second = call(system, "POST", "/views", {
        "name": "sneaky", "sql": "SELECT 1) AS x; DROP TABLE reference; SELECT (1"})
    write = call(system, "POST", "/views", {
        "name": "writer", "sql": "WITH gone AS (DELETE FROM reference RETURNING *) "
                                 "SELECT * FROM gone"})

    assert catalog[0] == 400 and "permission denied" in catalog[1]["detail"], catalog
    assert second[0] == 400, second
    assert write[0] == 400, write
    assert system.query("SELECT count(*) FROM reference") == ["10"]


def test_slow_sql_is_cancelled_by_the_statement_timeout(system):
    status, reply = call(system, "POST", "/views", {
        "name": "forever", "sql": "SELECT 1 AS one FROM reference, pg_sleep(60)"})

    assert status == 400, reply
    assert "statement timeout" in reply["detail"]


def test_taken_name_gets_409_and_unknown_view_404(system):
    status, reply = call(system, "POST", "/views", {"name": "reference",
                                                    "sql": "SELECT 1 AS one FROM reference"})
    assert status == 409, reply
    assert call(system, "GET", "/views/nothing_here")[0] == 404
    assert call(system, "DELETE", "/views/nothing_here")[0] == 404


def test_deleted_view_leaves_catalog_database_and_refreshes(system):
    status, reply = call(system, "POST", "/views", {"name": "doomed",
                                                    "sql": "SELECT 1 AS one FROM reference"})
    assert status == 201, reply
    wait_for(lambda: call(system, "GET", "/views/doomed")[1].get("refreshes"), 10,
             "the new view's first refresh")

    status, reply = call(system, "DELETE", "/views/doomed")

    assert status == 200, reply
    assert call(system, "GET", "/views/doomed")[0] == 404
    assert system.query("SELECT to_regclass('doomed') IS NULL") == ["t"]
    assert system.query("SELECT count(*) FROM tinydevcrm.refreshes WHERE view = 'doomed'") == ["0"]
    wait_for(lambda: "view dropped view=doomed" in system.log_path.read_text(), 10,
             "the view stage to stop refreshing the deleted view")
