"""Several uploads at once, to different tables and to the same one, with one loader process
and with two: every upload ends correct (no lost rows, no half-built table) or gets a clear
409/404, and the server keeps serving."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import System, server_url


@pytest.fixture(scope="module", params=[1, 2], ids=["one_loader", "two_loaders"])
def system(request, tmp_path_factory):
    # The [processes] table rides on the [http] text the shared System writes.
    extra = f"max_upload_bytes = 4194304\n[processes]\nloader = {request.param}"
    running = System(tmp_path_factory.mktemp("concurrency"), server_url(), extra_http=extra)
    yield running
    assert running.process.poll() is None, "tinydevcrm run died during the tests"
    running.stop()


def numbered(tmp_path, name, rows, header="id,label", tag="x"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(f"{i},{tag}{i}\n" for i in range(rows)))
    return path


def together(uploads):
    """Runs every (system, path, fields...) upload at the same time; returns the
    (status, reply) of each, in order."""
    with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
        futures = [pool.submit(system.upload, *rest) for system, *rest in uploads]
        return [future.result() for future in futures]


def count(system, table):
    return int(system.query(f'SELECT count(*) FROM "{table}"')[0])


def test_uploads_to_different_tables_all_commit(system, tmp_path):
    uploads = [(system, numbered(tmp_path, f"d{i}.csv", 2000 + i), f"table=many_{i}")
               for i in range(8)]
    results = together(uploads)
    assert [status for status, _ in results] == [201] * 8, results
    for i in range(8):
        assert count(system, f"many_{i}") == 2000 + i


def test_creates_of_one_table_give_one_table_and_409s(system, tmp_path):
    uploads = [(system, numbered(tmp_path, f"c{i}.csv", 1000 + i, tag=f"t{i}_"), "table=contested")
               for i in range(6)]
    results = together(uploads)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 5, results
    assert all(reply["error"] == "table_exists" for status, reply in results if status == 409)
    winner = next(i for i, (status, _) in enumerate(results) if status == 201)
    assert count(system, "contested") == 1000 + winner
    assert system.query('SELECT count(DISTINCT left(label, 3)) FROM "contested"') == ["1"]


def test_appends_to_one_table_lose_no_rows(system, tmp_path):
    assert system.upload(numbered(tmp_path, "base.csv", 100), "table=appendees")[0] == 201
    uploads = [(system, numbered(tmp_path, f"a{i}.csv", 500 + i), "table=appendees",
                "mode=append") for i in range(6)]
    results = together(uploads)
    assert [status for status, _ in results] == [201] * 6, results
    assert count(system, "appendees") == 100 + sum(500 + i for i in range(6))


def test_creates_and_appends_race_without_losing_committed_rows(system, tmp_path):
    uploads = [(system, numbered(tmp_path, "first.csv", 300), "table=raced")]
    uploads += [(system, numbered(tmp_path, f"r{i}.csv", 10 + i), "table=raced", "mode=append")
                for i in range(5)]
    results = together(uploads)
    assert results[0][0] == 201, results
    appended = [10 + i for i, (status, _) in enumerate(results[1:]) if status == 201]
    assert all(status in (201, 404) for status, _ in results[1:]), results
    assert count(system, "raced") == 300 + sum(appended)


def test_replaces_of_one_table_end_with_one_whole_upload(system, tmp_path):
    assert system.upload(numbered(tmp_path, "v0.csv", 50), "table=replaced")[0] == 201
    shapes = ["id,label", "id,other", "id,label", "id,third"]
    uploads = [(system, numbered(tmp_path, f"v{i + 1}.csv", 1000 * (i + 1), header=shape),
                "table=replaced", "mode=replace") for i, shape in enumerate(shapes)]
    results = together(uploads)
    assert [status for status, _ in results] == [201] * 4, results
    rows = count(system, "replaced")
    assert rows in (1000, 2000, 3000, 4000)
    last_column = system.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = '\"replaced\"'::regclass "
        "AND attnum = 2")
    assert last_column == [shapes[rows // 1000 - 1].split(",")[1]]


def test_server_answers_after_the_races(system, tmp_path):
    status, reply = system.upload(numbered(tmp_path, "after.csv", 3), "table=after_races")
    assert status == 201, reply
