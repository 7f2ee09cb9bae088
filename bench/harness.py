"""Shared pieces of the benchmarks in this folder.

A throwaway PostgreSQL cluster (`tinydevcrm pg start`), a running `tinydevcrm run` on its own
ports, readings from /proc, and the result files under bench/output/. Every process and cluster
started here is stopped by the context managers, also when a benchmark fails half way.

Runs with Debian's /usr/bin/python3 (python3-zmq, python3-msgpack, python3-psycopg2).
"""
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# TDC_BINARY names another build to measure, e.g. a copy kept from before a change.
BINARY = Path(os.environ.get("TDC_BINARY", REPO / "build" / "app" / "tinydevcrm"))
OUTPUT = REPO / "bench" / "output"

# Ports of the system under test, apart from the defaults so a developer's own run is untouched.
PORTS = {"bus": 45561, "events_in": 45559, "events_out": 45560, "http": 48080}
EVENTS_OUT = f"tcp://127.0.0.1:{PORTS['events_out']}"
HTTP_BASE = f"http://127.0.0.1:{PORTS['http']}"

# The reference upload: one row per digit, so its view `reference_current_second` has one row
# every second and the checker publishes one event a second.
# It lives in the shared/ folder beside the checkout (or beside the folder of worktrees).
REFERENCE_CSV = next((folder / "shared" / "cases" / "reference.csv" for folder in REPO.parents
                      if (folder / "shared" / "cases" / "reference.csv").exists()),
                     REPO.parent / "shared" / "cases" / "reference.csv")
REFERENCE_VIEW = "reference_current_second"

def use_ports(bus, events_in, events_out, http):
    """Moves the system under test to these ports, so one benchmark can run beside another."""
    global EVENTS_OUT, HTTP_BASE
    PORTS.update(bus=bus, events_in=events_in, events_out=events_out, http=http)
    EVENTS_OUT = f"tcp://127.0.0.1:{events_out}"
    HTTP_BASE = f"http://127.0.0.1:{http}"


# Log lines `tinydevcrm run` prints once each stage can serve.
READY_LINES = ["loader ready", "view ready", "checker ready", "logger ready", "http listening"]


class BenchError(RuntimeError):
    """A benchmark step that failed; the message says which step and why."""


def wait_until(condition, timeout, what, interval=0.05):
    """Polls `condition()` until it returns a true value, which is returned.

    Raises BenchError naming `what` when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def run(command, **kwargs):
    """Runs `command` (a list), returns its stdout; raises BenchError with its stderr on failure."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise BenchError(f"{command[0]} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def timed(command, **kwargs):
    """Runs `command` like run() and returns (stdout, wall seconds)."""
    start = time.perf_counter()
    out = run(command, **kwargs)
    return out, time.perf_counter() - start


# --- /proc --------------------------------------------------------------------------------

def status_kib(pid, key):
    """The value of `key` (e.g. VmHWM, VmRSS) in /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {key}")


def rollup_kib(pid):
    """/proc/<pid>/smaps_rollup as {field: KiB} (Rss, Pss, Private_Dirty, ...)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields


def private_kib(pid):
    """Memory only this process holds: private clean + private dirty pages, in KiB."""
    fields = rollup_kib(pid)
    return fields["Private_Clean"] + fields["Private_Dirty"]


def fd_count(pid):
    """How many file descriptors process `pid` has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def soft_fd_limit(pid):
    """The soft limit on open files of process `pid`, from /proc/<pid>/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise BenchError(f"/proc/{pid}/limits has no 'Max open files'")


def children(pid):
    """The pids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def raise_fd_limit(needed):
    """Raises this process's soft RLIMIT_NOFILE to at least `needed` (up to the hard limit)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchError(f"need {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# --- PostgreSQL ----------------------------------------------------------------------------

def snapshot_binary(folder):
    """Copies the built tinydevcrm into `folder` and returns the copy's path.

    Others may rebuild build/app/tinydevcrm while a benchmark runs; the copy keeps one run on
    one binary (the launcher starts its stages from its own executable).
    """
    if not BINARY.exists():
        raise BenchError(f"{BINARY} is missing: build it with "
                         f"cmake --build {REPO / 'build'} --target tinydevcrm")
    copy = Path(folder) / "tinydevcrm"
    shutil.copy2(BINARY, copy)
    return copy


class Cluster:
    """A throwaway cluster in `folder`, started by `binary pg start`; a context manager."""

    def __init__(self, folder, binary):
        self.folder = Path(folder)
        self.binary = str(binary)
        self.conninfo = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_):
        self.stop()

    def start(self):
        out = run([self.binary, "pg", "start", "--dir", str(self.folder)])
        self.conninfo = out.strip().splitlines()[-1]

    def stop(self):
        if self.conninfo:
            run([self.binary, "pg", "stop", "--dir", str(self.folder)])
            self.conninfo = None

    def restart(self):
        self.stop()
        self.start()

    def psql(self, *commands):
        """Runs each of `commands` (SQL or psql backslash commands) in one psql; returns stdout."""
        command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", self.conninfo]
        for text in commands:
            command += ["-c", text]
        return run(command)

    def postmaster_pid(self):
        pid_file = self.folder / "cluster" / "data" / "postmaster.pid"
        return int(pid_file.read_text().splitlines()[0])

    def process_count(self):
        """The postmaster and every process it started (background workers and backends)."""
        return 1 + len(children(self.postmaster_pid()))

    def connection_params(self):
        """The conninfo as a dict: host (socket folder), port, dbname, user."""
        return dict(pair.split("=", 1) for pair in self.conninfo.split())


# --- tinydevcrm ---------------------------------------------------------------------------

def write_config(folder, launch_mode=None):
    """Writes folder/tinydevcrm.toml: the repository's config with this harness's ports, and
    [launch] mode set to `launch_mode` ("processes" or "threads") when given."""
    text = (REPO / "config" / "tinydevcrm.toml").read_text()
    replacements = {
        r'^data_dir = .*$': f'data_dir = "{folder / "var"}"',
        r'^bus = .*$': f'bus = "tcp://127.0.0.1:{PORTS["bus"]}"',
        r'^events_in = .*$': f'events_in = "tcp://127.0.0.1:{PORTS["events_in"]}"',
        r'^events_out = .*$': f'events_out = "{EVENTS_OUT}"',
        r'^port = .*$': f'port = {PORTS["http"]}',
        r'^web_root = .*$': f'web_root = "{REPO / "web"}"',
    }
    if launch_mode:
        replacements[r'^mode = .*$'] = f'mode = "{launch_mode}"'
    for pattern, line in replacements.items():
        text, count = re.subn(pattern, line, text, count=1, flags=re.MULTILINE)
        if count != 1:
            raise BenchError(f"config/tinydevcrm.toml has no line matching {pattern}")
    path = folder / "tinydevcrm.toml"
    path.write_text(text)
    return path


def check_ports_free():
    """Raises BenchError when another process already listens on one of PORTS."""
    for name, port in PORTS.items():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise BenchError(f"port {port} ({name}) is in use: another run is going on")


class System:
    """`binary run` against `conninfo`, with its config in `folder`; a context manager.

    Its log goes to bench/output/<name>-system.log, kept after the run for a post-mortem.
    `launch_mode` ("processes" or "threads") overrides the config's [launch] mode.
    """

    def __init__(self, folder, conninfo, binary, name, launch_mode=None):
        self.folder = Path(folder)
        self.conninfo = conninfo
        self.binary = str(binary)
        self.launch_mode = launch_mode
        self.process = None
        self.log_path = OUTPUT / f"{name}-system.log"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_):
        self.stop()

    def start(self):
        check_ports_free()
        (self.folder / "var").mkdir(parents=True, exist_ok=True)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        config = write_config(self.folder, self.launch_mode)
        env = dict(os.environ, TINYDEVCRM_DATABASE_URL=self.conninfo)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen([self.binary, "run", "-c", str(config)], env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.ready, 30, "every stage to log that it is ready")

    def ready(self):
        if self.process.poll() is not None:
            raise BenchError(f"tinydevcrm run exited early; see {self.log_path}")
        text = self.log_path.read_text()
        return all(line in text for line in READY_LINES)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stages(self):
        """{stage name: pid} of the stage processes (the launcher's children)."""
        found = {}
        for pid in children(self.process.pid):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            found[argv[1].decode()] = pid
        return found

    def upload(self, csv_path, table):
        """POSTs `csv_path` as multipart field `file`; returns (HTTP status, reply, seconds).

        `Expect:` is sent empty because the http stage does not answer `100-continue`, and
        curl would otherwise wait one second before sending a body over 1 MiB.
        """
        reply = self.folder / "upload-reply.json"
        out, seconds = timed(["curl", "-s", "-H", "Expect:", "-o", str(reply),
                              "-w", "%{http_code}", "-F", f"file=@{csv_path}",
                              f"{HTTP_BASE}/upload-file?table={table}"])
        return int(out), reply.read_text(), seconds

    def upload_reference(self):
        """Uploads REFERENCE_CSV as table `reference`; raises BenchError unless it answers 201."""
        status, reply, _ = self.upload(REFERENCE_CSV, "reference")
        if status != 201:
            raise BenchError(f"upload of {REFERENCE_CSV} answered {status}: {reply}")


# --- events and refreshes ----------------------------------------------------------------

def unix_us(rfc3339):
    """Microseconds since the Unix epoch of an event's `as_of` (2026-12-03T15:04:05.123456Z)."""
    moment = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ")
    moment = moment.replace(tzinfo=datetime.timezone.utc)
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class RefreshHistory:
    """Reads a view's rows of tinydevcrm.refreshes as they come, over `connection` (psycopg2).

    The view stage keeps only the newest 100 rows per view, so call read_new() more often than
    every 100 ticks; it raises BenchError when rows were lost in between.
    """

    KEPT = 100  # kRefreshHistoryPerView in stages/view/refresher.hpp
    FIELDS = ["id", "tick", "started_us", "duration_ms", "row_count", "error", "merged_ticks",
              "committed_us"]
    SQL = """
        SELECT id, tick, (extract(epoch FROM started) * 1000000)::bigint, duration_ms,
               row_count, error, merged_ticks, {committed}
        FROM tinydevcrm.refreshes WHERE view = %s AND id > %s ORDER BY id"""
    HAS_COMMITTED_SQL = """
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = 'tinydevcrm' AND table_name = 'refreshes'
          AND column_name = 'committed'"""

    def __init__(self, connection, view):
        self.connection = connection
        self.view = view
        self.last_id = 0
        self.rows = []
        with connection.cursor() as cursor:
            cursor.execute(self.HAS_COMMITTED_SQL)
            has_committed = cursor.fetchone() is not None
        # Binaries older than the `committed` column are still measured, without it.
        self.sql = self.SQL.format(committed="(extract(epoch FROM committed) * 1000000)::bigint"
                                   if has_committed else "NULL")

    def skip_existing(self):
        """Forgets the rows recorded so far; read_new() then returns only later ones."""
        self.read_new()
        self.rows = []

    def read_new(self):
        """Appends the rows recorded since the last call to self.rows and returns them."""
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, (self.view, self.last_id))
            new = [dict(zip(self.FIELDS, row)) for row in cursor.fetchall()]
        if self.last_id and len(new) >= self.KEPT:
            raise BenchError(f"refresh history of {self.view} may have been trimmed before it "
                             f"was read: {len(new)} new rows, {self.KEPT} are kept")
        if new:
            self.last_id = new[-1]["id"]
        self.rows += new
        return new


def subscribe(context, view):
    """A SUB socket on the system's events_out for events of `view` (its name is the topic)."""
    import zmq

    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, view.encode())
    sub.connect(EVENTS_OUT)
    return sub


# --- figures ------------------------------------------------------------------------------

def percentile(values, fraction):
    """The nearest-rank percentile: the smallest value with `fraction` of values <= it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def summary(values):
    """count, mean, min, p50, p99 and max of `values` (None for each when there are none)."""
    if not values:
        return {"count": 0, "mean": None, "min": None, "p50": None, "p99": None, "max": None}
    return {"count": len(values), "mean": sum(values) / len(values), "min": min(values),
            "p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "max": max(values)}


class CpuLoad:
    """`count` processes that each spin on one core until the context ends; a context manager.

    They run at the default priority, like the stages, so they compete for the cores as any
    other busy program would.
    """

    def __init__(self, count):
        self.count = count
        self.processes = []

    def __enter__(self):
        for _ in range(self.count):
            self.processes.append(subprocess.Popen(
                ["/usr/bin/python3", "-c", "while True: pass"]))
        return self

    def __exit__(self, *_):
        for process in self.processes:
            process.kill()
            process.wait()
        self.processes = []


# --- results ------------------------------------------------------------------------------

def machine(binary):
    """What the figures were measured on (and with which `binary`), for the result files."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = meminfo_kib("MemTotal")
    built = datetime.datetime.fromtimestamp(Path(binary).stat().st_mtime, datetime.timezone.utc)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_1min_at_start": os.getloadavg()[0],
        "commit": git_commit(),
        "binary_built": built.strftime("%Y-%m-%d %H:%M UTC"),
        "binary_source": str(BINARY),
        "postgresql": run(["psql", "--version"]).strip(),
    }


def meminfo_kib(key):
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def git_commit():
    """HEAD's short hash, with "+changes" when the work tree differs from it."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO)] + list(args), capture_output=True,
                              text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")


def markdown_table(headers, rows):
    """A GitHub markdown table; every cell is turned into text."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def write_results(name, data, markdown):
    """Writes bench/output/<name>.json and <name>.md; returns their paths."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    json_path = OUTPUT / f"{name}.json"
    md_path = OUTPUT / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md_path.write_text(markdown + "\n")
    return json_path, md_path


def have_tool(name):
    return shutil.which(name) is not None


def apt_install(packages):
    """Installs Debian `packages` (already installed ones are kept); returns apt-get's error
    text, or "" on success."""
    done = subprocess.run(["apt-get", "install", "-y", "-q"] + list(packages),
                          capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stderr.strip()[-300:]
