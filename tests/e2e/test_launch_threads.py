"""The threads launch mode ([launch] mode = "threads"): every stage on a thread of the one
`tinydevcrm run` process, talking over inproc://, with the same results over HTTP and ZeroMQ
as the processes mode; and a clean stop that leaves the embedded database shut down."""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import urllib.error

import pytest

from conftest import BINARY, CASES, ROOT, System, free_port, server_url, subscriber, wait_for
from test_ops_support import get_json
from test_pipeline import receive_event, second_of

THREADS = '[launch]\nmode = "threads"\n'
STAGES = ["broker", "loader", "view", "checker", "ticker", "logger", "http"]


def child_pids(pid):
    """The pids whose parent is `pid`, from /proc."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def thread_names(pid):
    """The names (comm) of the threads of process `pid`."""
    names = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            continue  # a thread that just ended
    return names


def processes_with_config(config):
    """The pids of every process whose command line names `config`."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(config).encode() in argv:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def threads_system(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("threads"), server_url(), extra=THREADS)
    yield running
    assert running.process.poll() is None, "tinydevcrm run died during the tests"
    running.stop()
    assert running.process.returncode == 0, running.log_path.read_text()[-4000:]


def test_reference_pipeline_runs_in_one_process(threads_system):
    system = threads_system
    events = subscriber(system.events_out, "reference")

    status, reply = system.upload(CASES / "reference.csv")

    assert status == 201, reply
    assert reply["rows"] == 10
    assert reply["views"][0]["name"] == "reference_current_second"
    received = [receive_event(events) for _ in range(6)]
    seconds = []
    for topic, event in received:
        assert topic == "reference_current_second"
        at = second_of(event["as_of"])
        assert event["rows"] == [[at.second % 10]], event
        seconds.append(int(at.timestamp()))
    assert [b - a for a, b in zip(seconds, seconds[1:])] == [1] * 5, seconds
    seqs = [event["seq"] for _, event in received]
    assert [b - a for a, b in zip(seqs, seqs[1:])] == [1] * 5, seqs

    # One process: no child processes, a named thread per stage.
    assert child_pids(system.process.pid) == []
    names = thread_names(system.process.pid)
    for stage in STAGES:
        assert f"tdc-{stage}" in names, names


def test_status_shows_every_stage_as_a_thread_of_the_one_process(threads_system):
    system = threads_system
    pid = system.process.pid

    def every_stage_up():
        status, body = get_json(system.base_url, "/status")
        if status != 200:
            return None
        up = {entry["stage"] for entry in body["stages"] if entry.get("up")}
        return body if up >= set(STAGES) else None

    status = wait_for(every_stage_up, 10, "every stage in /status")
    assert status["broker"]["pid"] == pid and status["http"]["pid"] == pid
    tids = set()
    for entry in status["stages"]:
        assert entry["pid"] == pid, entry
        tids.add(entry["tid"])
        if entry["stage"] in ("loader", "view", "checker"):
            assert "last_heartbeat_ms_ago" in entry, entry
    assert len(tids) == len(STAGES) and pid not in tids


def test_logger_thread_logs_the_events(threads_system):
    events = subscriber(threads_system.events_out, "reference")
    _, event = receive_event(events)
    line = f"event view=reference_current_second seq={event['seq']} as_of={event['as_of']}"
    wait_for(lambda: line in threads_system.log_path.read_text(), 5, "the logger's line")


# --- the embedded database: just the application and PostgreSQL ---------------------------

def pg_tool(name):
    """The newest PostgreSQL major's `name` tool, e.g. pg_controldata."""
    majors = sorted(pathlib.Path("/usr/lib/postgresql").iterdir(),
                    key=lambda path: int(path.name) if path.name.isdigit() else 0)
    return str(majors[-1] / "bin" / name)


def cluster_data_dir(pg_dir):
    """The data folder of the embedded cluster asked for in `pg_dir` (it may have moved to a
    fallback folder the server's user can enter; a pointer file says where)."""
    pointer = pg_dir / "cluster-location"
    base = pathlib.Path(pointer.read_text().strip()) if pointer.exists() else pg_dir
    return base / "cluster" / "data"


@pytest.fixture
def embedded_run():
    """A threads-mode `tinydevcrm run` with no database configured, so it starts its own
    cluster. Whatever happens, the process and the cluster are stopped and removed after."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="tdc-e2e-threads-"))
    folder.chmod(0o755)  # the cluster runs as user postgres, which must enter this folder
    http_port = free_port()
    config = folder / "tinydevcrm.toml"
    config.write_text(f"""
[database]
data_dir = "{folder / 'var'}"
[endpoints]
bus = "tcp://127.0.0.1:{free_port()}"
events_in = "tcp://127.0.0.1:{free_port()}"
events_out = "tcp://127.0.0.1:{free_port()}"
[http]
port = {http_port}
web_root = "{ROOT / 'web'}"
{THREADS}""")
    env = {key: value for key, value in os.environ.items() if key != "TINYDEVCRM_DATABASE_URL"}
    log_path = folder / "system.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([BINARY, "run", "--config", str(config)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    run = {"process": process, "config": config, "log": log_path,
           "pg_dir": folder / "var" / "pg", "base_url": f"http://127.0.0.1:{http_port}"}
    yield run
    if process.poll() is None:
        process.kill()
        process.wait()
    subprocess.run([BINARY, "pg", "stop", "--dir", str(run["pg_dir"])], capture_output=True,
                   timeout=120)
    data = cluster_data_dir(run["pg_dir"]) if run["pg_dir"].exists() else None
    if data is not None and not str(data).startswith(str(folder)):
        shutil.rmtree(data.parent.parent, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_database_and_one_process_then_a_clean_stop(embedded_run):
    process, log_path = embedded_run["process"], embedded_run["log"]

    def http_ready():
        if process.poll() is not None:
            pytest.fail(f"tinydevcrm run exited with {process.returncode}:\n"
                        + log_path.read_text())
        try:
            status, _ = get_json(embedded_run["base_url"], "/status")
        except (urllib.error.URLError, ConnectionError):
            return False
        return status == 200
    wait_for(http_ready, 120, "the HTTP front over the embedded cluster")  # initdb included
    status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-F",
                             f"file=@{CASES / 'reference.csv'}",
                             embedded_run["base_url"] + "/upload-file"],
                            capture_output=True, text=True, check=True).stdout
    assert status == "201"
    wait_for(lambda: "event view=reference_current_second" in log_path.read_text(), 10,
             "an event over the embedded cluster")

    # Just the application and PostgreSQL: one tinydevcrm process with no children, and the
    # PostgreSQL server the launcher started.
    assert processes_with_config(embedded_run["config"]) == [process.pid]
    assert child_pids(process.pid) == []
    data = cluster_data_dir(embedded_run["pg_dir"])
    postmaster = int((data / "postmaster.pid").read_text().splitlines()[0])
    assert pathlib.Path(f"/proc/{postmaster}").exists()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log_path.read_text()[-4000:]

    text = log_path.read_text()
    assert text.index("stage stopped stage=http") < text.index("stage stopped stage=broker")
    assert text.index("stage stopped stage=broker") < text.index("pg stopped")
    assert not (data / "postmaster.pid").exists()
    control = subprocess.run([pg_tool("pg_controldata"), str(data)], capture_output=True,
                             text=True, check=True).stdout
    state = [line.split(":", 1)[1].strip() for line in control.splitlines()
             if line.startswith("Database cluster state:")]
    assert state == ["shut down"], control  # a fast shutdown, nothing to recover
