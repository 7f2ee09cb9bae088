"""CurveZMQ on: `tinydevcrm keygen` writes key pairs; the broker admits only the stage and
subscriber keys in its folders; the reference pipeline still delivers; a stranger's key and a
stage without keys get nothing."""
import json
import os
import shutil
import signal
import stat
import subprocess

import msgpack
import pytest

from conftest import BINARY, CASES, ROOT, System, read_key, server_url, subscriber, wait_for
from test_ops_support import get_json, log_has, wait_for_stage, write_numbers_csv

VIEW = "reference_current_second"


def keygen(prefix):
    out = subprocess.run([BINARY, "keygen", "--out", str(prefix)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out


def security_table(keys, secret_key):
    return f"""
[security]
curve = true
broker_public_key = "{keys / 'broker.public'}"
broker_secret_key = "{keys / 'broker.secret'}"
secret_key = "{secret_key}"
stage_keys = "{keys / 'stages'}"
subscriber_keys = "{keys / 'subscribers'}"
"""


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """broker, host (a stage key), alice (a subscriber key) and stranger (in no folder)."""
    folder = tmp_path_factory.mktemp("keys")
    for name in ("broker", "host", "alice", "stranger"):
        keygen(folder / name)
    for allowed, name in (("stages", "host"), ("subscribers", "alice")):
        (folder / allowed).mkdir()
        shutil.copy(folder / f"{name}.public", folder / allowed / f"{name}.public")
    return folder


@pytest.fixture(scope="module")
def curved(tmp_path_factory, keys):
    running = System(tmp_path_factory.mktemp("curved"), server_url(),
                     extra=security_table(keys, keys / "host.secret"))
    try:
        status, reply = running.upload(CASES / "reference.csv")
        assert status == 201, reply
        yield running
        assert running.process.poll() is None, "tinydevcrm run died during the tests"
    finally:
        running.stop()


def config_with(system, tmp_path, name, security):
    """A copy of the system's config for another process: same endpoints, `security`."""
    text = system.config.read_text()
    start = text.index("[security]")
    path = tmp_path / f"{name}.toml"
    path.write_text(text[:start] + security)
    return path


def test_keygen_writes_a_public_key_and_a_secret_only_its_owner_reads(tmp_path):
    out = keygen(tmp_path / "keys" / "loader")

    public = tmp_path / "keys" / "loader.public"
    secret = tmp_path / "keys" / "loader.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert len(read_key(public)) == 40 and len(read_key(secret)) == 40
    assert read_key(secret).decode() not in out.stdout + out.stderr
    assert f"fingerprint={read_key(public).decode()[:12]}" in out.stdout

    again = subprocess.run([BINARY, "keygen", "--out", str(tmp_path / "keys" / "loader")],
                           capture_output=True, text=True, timeout=30)
    assert again.returncode != 0 and "exists already" in again.stderr
    assert read_key(secret).decode() not in again.stdout + again.stderr


def test_allowed_subscriber_receives_events_and_a_stranger_nothing(curved, keys):
    stranger = subscriber(curved.events_out, "reference",
                          curve=(keys / "stranger.secret", keys / "broker.public"), confirmed=False)
    alice = subscriber(curved.events_out, "reference",
                       curve=(keys / "alice.secret", keys / "broker.public"))

    seqs = []
    for _ in range(3):
        topic, body = alice.recv_multipart()
        assert topic.decode() == VIEW
        seqs.append(msgpack.unpackb(body, raw=False)["seq"])
    fingerprint = read_key(keys / "stranger.public").decode()[:12]
    wait_for(lambda: log_has(curved, f"connection refused endpoint=events_out"
                                     f" address=127.0.0.1 key={fingerprint}"),
             10, "the broker to log the stranger's refusal")

    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert stranger.poll(0) == 0, "a key the broker does not know received an event"
    assert read_key(keys / "stranger.secret").decode() not in curved.log_path.read_text()
    stranger.close()
    alice.close()


def test_sub_with_a_subscriber_key_resumes_through_the_bus(curved, keys, tmp_path):
    config = config_with(curved, tmp_path, "alice",
                         security_table(keys, keys / "alice.secret"))
    last = int(curved.query(f"SELECT last_seq FROM tinydevcrm.views WHERE name = '{VIEW}'")[0])

    out = subprocess.run([BINARY, "sub", "--config", str(config), "--view", VIEW,
                          "--since", str(last - 2), "--count", "3"],
                         capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    seqs = [json.loads(line)["seq"] for line in out.stdout.splitlines()]
    assert seqs == [last - 1, last, last + 1]


def test_sub_with_a_key_the_broker_refuses_says_so_and_exits(curved, keys, tmp_path):
    """A refused `sub` used to print only `waiting for the broker` and wait for ever."""
    config = config_with(curved, tmp_path, "stranger",
                         security_table(keys, keys / "stranger.secret"))

    out = subprocess.run([BINARY, "sub", "--config", str(config), "--view", VIEW,
                          "--count", "1"], capture_output=True, text=True, timeout=30)

    assert out.returncode == 1, out.stderr
    assert out.stdout == ""
    assert (f"subscribe failed: {curved.events_out}: the broker refused this client's key"
            in out.stderr), out.stderr


def test_example_subscriber_with_keys_receives_an_event(curved, keys):
    out = subprocess.run(["/usr/bin/python3", str(ROOT / "examples" / "subscriber.py"),
                          "--endpoint", curved.events_out, "--view", "reference",
                          "--secret-key", str(keys / "alice.secret"),
                          "--broker-key", str(keys / "broker.public"), "--count", "1"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[0])["view"] == VIEW


def test_stage_without_keys_cannot_register(curved, tmp_path):
    config = config_with(curved, tmp_path, "plain", "[security]\ncurve = false\n")
    log = open(tmp_path / "plain-loader.log", "w")
    loader = subprocess.Popen([BINARY, "loader", "--config", str(config)], stdout=log,
                              stderr=subprocess.STDOUT,
                              env=dict(os.environ, TINYDEVCRM_DATABASE_URL=curved.db))
    try:
        # Nothing else connects to the bus without keys here.
        wait_for(lambda: log_has(curved, "connection refused endpoint=bus reason="),
                 10, "the broker to refuse the loader without keys")
        # Its `ready` waits for a connection that the broker refused, so the broker never
        # hears it; the loader itself runs on, unconnected.
        status, reply = get_json(curved.base_url, "/status")
        assert status == 200, reply
        assert loader.pid not in [stage.get("pid") for stage in reply["stages"]], reply
        assert loader.poll() is None, "the loader exited: " + (tmp_path / "plain-loader.log").read_text()
    finally:
        loader.kill()
        loader.wait()
        log.close()


def test_killed_broker_comes_back_and_every_keyed_client_reconnects(curved, keys, tmp_path):
    alice = subscriber(curved.events_out, VIEW,
                       curve=(keys / "alice.secret", keys / "broker.public"))
    last = msgpack.unpackb(alice.recv_multipart()[1], raw=False)["seq"]

    broker = wait_for_stage(curved, "broker")
    os.kill(broker, signal.SIGKILL)
    wait_for_stage(curved, "broker", other_than=broker)
    while alice.poll(0):  # what the old broker delivered; it is gone by now
        last = msgpack.unpackb(alice.recv_multipart()[1], raw=False)["seq"]

    # Reconnecting is a new handshake, which the new broker's gatekeeper admits.
    def newer():
        return alice.poll(100) and msgpack.unpackb(alice.recv_multipart()[1],
                                                   raw=False)["seq"] > last
    wait_for(newer, 30, "an event through the new broker")
    status, reply = curved.upload(write_numbers_csv(tmp_path / "after.csv", 100))
    assert status == 201, reply
    alice.close()
