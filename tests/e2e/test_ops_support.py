"""Helpers shared by the operations tests (test_ops_*.py; this module holds no tests): the
stage processes of a running `tinydevcrm run`, a private PostgreSQL cluster, event
subscribers and HTTP calls."""
import json
import os
import pathlib
import subprocess
import time
import urllib.error
import urllib.request

import msgpack
import pytest
import zmq

from conftest import BINARY, SYNC_PREFIX, wait_for


def stage_pids(launcher_pid):
    """{stage name: [pid, ...]} of the launcher's children, read from /proc."""
    stages = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == launcher_pid and len(argv) > 1:
            stages.setdefault(argv[1].decode(), []).append(int(entry.name))
    return stages


def wait_for_stage(system, stage, other_than=None, timeout=20):
    """The pid of `stage` once it runs (and is not `other_than`)."""
    def running():
        pids = [p for p in stage_pids(system.process.pid).get(stage, []) if p != other_than]
        return pids[0] if pids else None
    return wait_for(running, timeout, f"stage {stage} to run")


class PrivatePostgres:
    """A PostgreSQL cluster of this test alone, so it can be stopped and started."""

    def __init__(self, directory):
        self.dir = directory
        self.conninfo = self.start()

    def start(self):
        out = subprocess.run([BINARY, "pg", "start", "--dir", str(self.dir)],
                             check=True, capture_output=True, text=True, timeout=120)
        return out.stdout.strip().splitlines()[-1]

    def stop(self):
        subprocess.run([BINARY, "pg", "stop", "--dir", str(self.dir)],
                       check=True, capture_output=True, text=True, timeout=120)


@pytest.fixture
def private_pg(tmp_path):
    pg = PrivatePostgres(tmp_path / "pg")
    yield pg
    pg.stop()


class Subscriber:
    """A SUB socket on events_out; `next_event` waits with a deadline."""

    def __init__(self, endpoint, prefix=""):
        self.socket = zmq.Context.instance().socket(zmq.SUB)
        self.socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)

    def next_event(self, timeout):
        """The next event as a dict, or None after `timeout` seconds. Messages of the
        subscription handshake (topics under SYNC_PREFIX) are skipped."""
        deadline = time.monotonic() + timeout
        while self.socket.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            topic, body = self.socket.recv_multipart()
            if not topic.startswith(SYNC_PREFIX):
                return msgpack.unpackb(body, raw=False)
        return None

    def close(self):
        self.socket.close()


def upload(base_url, path, table, headers=()):
    """POSTs `path` as text/csv to ?table=; returns (status, JSON reply, seconds taken)."""
    args = ["curl", "-s", "-S", "-w", "\n%{http_code}", "--data-binary", f"@{path}",
            "-H", "Content-Type: text/csv"]
    for header in headers:
        args += ["-H", header]
    started = time.monotonic()
    out = subprocess.run(args + [f"{base_url}/upload-file?table={table}"],
                         check=True, capture_output=True, text=True)
    body, _, status = out.stdout.rpartition("\n")
    try:
        return int(status), json.loads(body), time.monotonic() - started
    except json.JSONDecodeError:
        return int(status), body, time.monotonic() - started


def get(base_url, path):
    """GETs `path`; returns (status, body text)."""
    try:
        with urllib.request.urlopen(base_url + path, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get_json(base_url, path):
    status, body = get(base_url, path)
    return status, json.loads(body)


def table_exists(system, table):
    return system.query(f"SELECT to_regclass('public.{table}') IS NOT NULL") == ["t"]


def log_has(system, text):
    return text in system.log_path.read_text(errors="replace")


def write_numbers_csv(path, rows):
    """A CSV of `rows` rows: id, a number and a short text."""
    with open(path, "w") as out:
        out.write("id,amount,label\n")
        chunk = 100000
        for start in range(0, rows, chunk):
            out.write("".join(f"{i},{i * 7 % 1000}.5,row{i % 97}\n"
                              for i in range(start, min(rows, start + chunk))))
    return path


def env_with_database(conninfo):
    return dict(os.environ, TINYDEVCRM_DATABASE_URL=conninfo)
