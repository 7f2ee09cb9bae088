"""Starts the real system for end-to-end tests.

Needs TINYDEVCRM_TEST_DATABASE_URL (a libpq conninfo of a PostgreSQL server the tests may
create databases on; scripts/test starts a throwaway one) and TDC_BINARY (the tinydevcrm
executable; ctest sets it). Each test module gets its own database and its own ports.
"""
import os
import pathlib
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = pathlib.Path(os.environ.get("TDC_CASES_DIR", ROOT.parent / "shared" / "cases"))
BINARY = os.environ.get("TDC_BINARY", str(ROOT / "build" / "app" / "tinydevcrm"))


_handed_out = set()


def free_port():
    """A port nobody listens on now, never one this run handed out before: the kernel may
    pick the port it just released again, and a system's endpoints must differ."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_for(condition, timeout, what):
    """Polls `condition` until it returns a truthy value; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# Topics of the subscription handshake (kSyncTopicPrefix in common/wire.hpp).
SYNC_PREFIX = b"\0sync/"


def handshake(socket, timeout=10):
    """Waits until the broker answers on a fresh sync topic, so every subscription `socket`
    made before is in place there; fails the test after `timeout` s. Events that arrive
    meanwhile are dropped."""
    import zmq
    topic = SYNC_PREFIX + secrets.token_hex(8).encode()
    socket.setsockopt(zmq.SUBSCRIBE, topic)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if socket.poll(max(1, int(left * 1000))) and socket.recv_multipart()[0] == topic:
            socket.setsockopt(zmq.UNSUBSCRIBE, topic)
            return
    pytest.fail(f"the broker did not answer the subscription handshake within {timeout} s")


def read_key(path):
    """The Z85 key in a key file written by `tinydevcrm keygen`."""
    return pathlib.Path(path).read_text().splitlines()[0].encode()


def use_curve(socket, secret_key_file, broker_public_key_file):
    """Makes `socket` (not yet connected) a CURVE client with the key pair whose secret key
    is in `secret_key_file`, trusting the broker key in `broker_public_key_file`."""
    import zmq
    secret = read_key(secret_key_file)
    socket.curve_secretkey = secret
    socket.curve_publickey = zmq.curve_public(secret)
    socket.curve_serverkey = read_key(broker_public_key_file)


def subscriber(endpoint, prefix, curve=None, confirmed=True):
    """A SUB socket on `endpoint` for views whose name starts with `prefix`, subscribed at
    the broker when returned: every event published from then on reaches it. A receive
    waits at most 10 s. `curve`: (secret key file, broker public key file). With
    `confirmed=False` it returns without the handshake (for a client the broker refuses)."""
    import zmq
    socket = zmq.Context.instance().socket(zmq.SUB)
    socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    socket.setsockopt(zmq.RCVTIMEO, 10000)
    socket.setsockopt(zmq.LINGER, 0)
    if curve:
        use_curve(socket, *curve)
    socket.connect(endpoint)
    if confirmed:
        handshake(socket)
    return socket


def psql(conninfo, sql):
    """Runs `sql` with psql and returns the unaligned, tuples-only output lines."""
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-d", conninfo, "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.splitlines()


class System:
    """One running `tinydevcrm run` with its config, database, ports and log. `extra` is
    more TOML tables for the config."""

    def __init__(self, tmp, server_url, extra_http="", extra=""):
        """`extra_http` goes into the [http] section; `extra` is appended to the
        configuration (whole sections, e.g. "[events]\\nmax_rows = 3")."""
        self.dir = tmp
        self.database = "tdc_e2e_" + secrets.token_hex(4)
        psql(server_url, f"CREATE DATABASE {self.database}")
        self.server_url = server_url
        self.db = f"{server_url} dbname={self.database}"
        self.http_port = free_port()
        self.events_out = f"tcp://127.0.0.1:{free_port()}"
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.config = tmp / "tinydevcrm.toml"
        self.config.write_text(f"""
[database]
data_dir = "{tmp / 'var'}"
[endpoints]
bus = "tcp://127.0.0.1:{free_port()}"
events_in = "tcp://127.0.0.1:{free_port()}"
events_out = "{self.events_out}"
[http]
port = {self.http_port}
web_root = "{ROOT / 'web'}"
{extra_http}
[log]
level = "debug"
{extra}
""")
        self.log_path = tmp / "system.log"
        env = dict(os.environ, TINYDEVCRM_DATABASE_URL=self.db)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([BINARY, "run", "--config", str(self.config)],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_for(self.http_ready, 30, "the HTTP front to answer")

    def http_ready(self):
        if self.process.poll() is not None:
            pytest.fail(f"tinydevcrm run exited with {self.process.returncode}:\n"
                        + self.log_path.read_text())
        try:
            with urllib.request.urlopen(self.base_url + "/", timeout=1) as reply:
                return reply.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    def upload(self, path, *fields, content_type=None, query=""):
        """POSTs `path` with curl; returns (status, parsed JSON reply)."""
        import json
        url = f"{self.base_url}/upload-file{query}"
        if content_type:
            args = ["--data-binary", f"@{path}", "-H", f"Content-Type: {content_type}"]
        else:
            args = ["-F", f"file=@{path}"]
            for field in fields:
                args += ["-F", field]
        out = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}", url] + args,
                             check=True, capture_output=True, text=True)
        body, _, status = out.stdout.rpartition("\n")
        try:
            return int(status), json.loads(body)
        except json.JSONDecodeError:
            return int(status), body

    def query(self, sql):
        return psql(self.db, sql)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        finally:
            self.log.close()
        psql(self.server_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def server_url():
    url = os.environ.get("TINYDEVCRM_TEST_DATABASE_URL")
    if not url:
        pytest.fail("TINYDEVCRM_TEST_DATABASE_URL is not set: run the tests with scripts/test")
    return url


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("system"), server_url(),
                     extra_http="max_upload_bytes = 4194304")
    yield running
    assert running.process.poll() is None, "tinydevcrm run died during the tests"
    running.stop()
    assert running.process.returncode == 0, running.log_path.read_text()[-4000:]
