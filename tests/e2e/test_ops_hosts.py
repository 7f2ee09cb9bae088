"""Several hosts by config alone. Three network namespaces stand for three hosts, joined by a
bridge in the broker host's namespace on addresses this test creates (10.77.0.0/24):

  broker host  10.77.0.1  `tinydevcrm run` with broker and http only, bound to 10.77.0.1
  stage host   10.77.0.2  `tinydevcrm run` with loader, view, checker and ticker only
  client host  10.77.0.3  `tinydevcrm run` with the logger only (no database), plus
                          `tinydevcrm sub` and curl

Each host has its own config file and its own host name (a UTS namespace), so /status must
name the host of every stage. PostgreSQL is reached over its Unix socket: a socket is a file,
and files are shared across network namespaces. Needs root; skipped, saying why, only where
namespaces cannot be created."""
import json
import os
import secrets
import signal
import subprocess

import pytest

from conftest import BINARY, CASES, ROOT, psql, server_url, wait_for

SUBNET = "10.77.0"
BROKER_ADDRESS = f"{SUBNET}.1"
HTTP_URL = f"http://{BROKER_ADDRESS}:8080"
ENDPOINTS = f"""
[endpoints]
bus = "tcp://{BROKER_ADDRESS}:5561"
events_in = "tcp://{BROKER_ADDRESS}:5559"
events_out = "tcp://{BROKER_ADDRESS}:5560"
"""
STAGES = ["broker", "loader", "view", "checker", "ticker", "logger", "http"]


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def namespaces_unavailable():
    """Why network and UTS namespaces cannot be made here, or None when they can."""
    probe = "tdcprobe" + secrets.token_hex(3)
    try:
        made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True,
                              timeout=30)
    except FileNotFoundError:
        return "`ip` is missing: scripts/install installs iproute2"
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    try:
        uts = subprocess.run(["ip", "netns", "exec", probe, "unshare", "--uts", "true"],
                             capture_output=True, text=True, timeout=30)
        if uts.returncode != 0:
            return f"`unshare --uts` failed: {uts.stderr.strip()}"
        return None
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)


def config_text(database, processes, extra=""):
    counts = "\n".join(f"{stage} = {processes.get(stage, 0)}" for stage in STAGES)
    database = f'[database]\nurl = "{database}"' if database else ""
    return f"""
{database}
{ENDPOINTS}
[processes]
{counts}
{extra}
[log]
level = "debug"
"""


class Hosts:
    """The three namespaces, the bridge between them, the launchers and the database.
    close() removes every one of them, also after a failed start."""

    def __init__(self, tmp):
        self.tmp = tmp
        tag = secrets.token_hex(3)
        self.ns = {role: f"tdc-{role}-{tag}" for role in ("broker", "stages", "client")}
        self.hostname = {role: f"tdc-{role}-host" for role in self.ns}
        self.made = []
        self.launchers = {}
        self.logs = {}
        self.database = None
        try:
            self.connect_namespaces()
            self.make_database()
        except BaseException:
            self.close()
            raise

    def connect_namespaces(self):
        for ns in self.ns.values():
            ip("netns", "add", ns)
            self.made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        broker = self.ns["broker"]
        ip("-n", broker, "link", "add", "br0", "type", "bridge", "forward_delay", "0")
        ip("-n", broker, "addr", "add", f"{BROKER_ADDRESS}/24", "dev", "br0")
        ip("-n", broker, "link", "set", "br0", "up")
        for number, role in ((2, "stages"), (3, "client")):
            ns, port = self.ns[role], f"to-{role}"
            ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
               "netns", broker)
            ip("-n", broker, "link", "set", port, "master", "br0")
            ip("-n", broker, "link", "set", port, "up")
            ip("-n", ns, "addr", "add", f"{SUBNET}.{number}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    def make_database(self):
        name = "tdc_e2e_" + secrets.token_hex(4)
        psql(server_url(), f"CREATE DATABASE {name}")
        self.database = name
        self.db = f"{server_url()} dbname={name}"

    def command(self, role, *argv):
        """argv run in the namespace of `role` under its own host name."""
        return ["ip", "netns", "exec", self.ns[role], "unshare", "--uts", "sh", "-c",
                f'hostname {self.hostname[role]} && exec "$@"', "sh", *argv]

    def launch(self, role, processes, extra="", database=True):
        config = self.tmp / f"{role}.toml"
        config.write_text(config_text(self.db if database else None, processes, extra))
        env = {k: v for k, v in os.environ.items() if k != "TINYDEVCRM_DATABASE_URL"}
        self.logs[role] = self.tmp / f"{role}.log"
        with open(self.logs[role], "w") as log:
            self.launchers[role] = subprocess.Popen(
                self.command(role, BINARY, "run", "--config", str(config)),
                stdout=log, stderr=subprocess.STDOUT, env=env)
        return config

    def curl(self, *args, timeout=30):
        """curl run on the client host; returns (HTTP status, body)."""
        out = subprocess.run(self.command("client", "curl", "-s", "-S", "-w", "\n%{http_code}",
                                          *args),
                             capture_output=True, text=True, timeout=timeout)
        body, _, status = out.stdout.rpartition("\n")
        return int(status or 0), body

    def listening(self, role):
        """The TCP addresses listened on in the namespace of `role`, as ss prints them."""
        out = subprocess.run(["ip", "netns", "exec", self.ns[role], "ss", "-H", "-l", "-t",
                              "-n"], check=True, capture_output=True, text=True, timeout=30)
        return {line.split()[3] for line in out.stdout.splitlines()}

    def log_tails(self):
        return "\n".join(f"--- {role}.log\n" + path.read_text(errors="replace")[-3000:]
                         for role, path in self.logs.items())

    def stop(self):
        """SIGTERM to every launcher; {role: exit code}, killing one still there after 20 s."""
        for process in self.launchers.values():
            if process.poll() is None:
                process.terminate()
        codes = {}
        for role, process in self.launchers.items():
            try:
                codes[role] = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[role] = process.wait(timeout=10)
        return codes

    def close(self):
        self.stop()
        for ns in self.made:
            kill_everything_in(ns)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        if self.database:
            psql(server_url(), f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def kill_everything_in(ns):
    """SIGKILLs what still runs in `ns`: only this test starts processes there."""
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                         timeout=30)
    for pid in out.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def hosts(tmp_path):
    reason = namespaces_unavailable()
    if reason:
        pytest.skip(f"network namespaces cannot be created here: {reason}")
    made = Hosts(tmp_path)
    yield made
    made.close()


def test_reference_pipeline_across_three_hosts(hosts):
    hosts.launch("broker", {"broker": 1, "http": 1},
                 extra=f'[http]\nhost = "{BROKER_ADDRESS}"\nport = 8080\n'
                       f'web_root = "{ROOT / "web"}"\n')
    hosts.launch("stages", {"loader": 1, "view": 1, "checker": 1, "ticker": 1})
    client_config = hosts.launch("client", {"logger": 1}, database=False)
    wait_for(lambda: front_answers(hosts), 30, "the HTTP front on the broker host")
    subscriber = subprocess.Popen(
        hosts.command("client", BINARY, "sub", "--config", str(client_config), "--view",
                      "reference", "--count", "2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: subscriptions(hosts) >= 2, 15,
                 "the client host's two subscriptions (logger, sub) to reach the broker")
        status, reply = hosts.curl("-F", f"file=@{CASES / 'reference.csv'}",
                                   f"{HTTP_URL}/upload-file")
        out, err = subscriber.communicate(timeout=30)
    finally:
        if subscriber.poll() is None:
            subscriber.kill()
            subscriber.wait()

    assert status == 201, reply + hosts.log_tails()
    assert subscriber.returncode == 0, err + hosts.log_tails()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 2
    assert events[0]["view"] == "reference_current_second"
    assert events[1]["seq"] == events[0]["seq"] + 1
    assert events[0]["rows"] == [[int(events[0]["as_of"][17:19]) % 10]]
    assert psql(hosts.db, "SELECT count(*) FROM reference") == ["10"]

    report = wait_for(lambda: status_of_every_host(hosts), 10,
                      "/status to show the stages of every host and the view")
    by_stage = {s["stage"]: s for s in report["stages"] if "restarts" in s}
    assert by_stage["broker"]["host"] == hosts.hostname["broker"]
    assert by_stage["http"]["host"] == hosts.hostname["broker"]
    for stage in ("loader", "view", "checker", "ticker"):
        assert by_stage[stage]["host"] == hosts.hostname["stages"], report["stages"]
        assert by_stage[stage]["up"] is True and by_stage[stage]["restarts"] == 0
    assert by_stage["loader"]["last_heartbeat_ms_ago"] < 3000
    assert by_stage["logger"]["host"] == hosts.hostname["client"]
    assert report["broker"]["host"] == hosts.hostname["broker"]
    wait_for(lambda: logged_event(hosts, events[0]["seq"]), 5,
             "the client host's logger stage to log an event")
    assert "launcher database=none" in hosts.logs["client"].read_text()

    bound = hosts.listening("broker")
    for port in (5559, 5560, 5561, 8080):
        assert {a for a in bound if a.endswith(f":{port}")} == {f"{BROKER_ADDRESS}:{port}"}, bound
    assert hosts.listening("stages") == set(), "only the broker host listens"
    assert hosts.stop() == {"broker": 0, "stages": 0, "client": 0}, hosts.log_tails()


def front_answers(hosts):
    for role, process in hosts.launchers.items():
        if process.poll() is not None:
            pytest.fail(f"the {role} host's launcher exited with {process.returncode}:\n"
                        + hosts.log_tails())
    status, _ = hosts.curl(f"{HTTP_URL}/", timeout=10)
    return status == 200


def subscriptions(hosts):
    status, body = hosts.curl(f"{HTTP_URL}/status", timeout=10)
    return json.loads(body)["counters"]["subscriptions"] if status == 200 else 0


def status_of_every_host(hosts):
    status, body = hosts.curl(f"{HTTP_URL}/status", timeout=10)
    if status != 200:
        return None
    report = json.loads(body)
    hosts_seen = {s.get("host") for s in report["stages"] if "restarts" in s}
    expected = set(hosts.hostname.values())
    views = {v["view"]: v for v in report.get("views", [])}
    reference = views.get("reference_current_second")
    if hosts_seen == expected and reference \
            and reference["last_refresh"] and reference["events"]["sent"] > 0:
        return report
    return None


def logged_event(hosts, seq):
    return f"event view=reference_current_second seq={seq} " in hosts.logs["client"].read_text()
