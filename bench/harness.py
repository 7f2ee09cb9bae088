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
BINARY = REPO / "build" / "app" / "tinydevcrm"
OUTPUT = REPO / "bench" / "output"

# Ports of the system under test, apart from the defaults so a developer's own run is untouched.
PORTS = {"bus": 45561, "events_in": 45559, "events_out": 45560, "http": 48080}
EVENTS_OUT = f"tcp://127.0.0.1:{PORTS['events_out']}"
HTTP_BASE = f"http://127.0.0.1:{PORTS['http']}"


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
