"""Peers that are not tinydevcrm's stages. Without CURVE (the default, on one host) anyone who
reaches the broker's endpoints can send it any bytes: a malformed or hostile message may be
refused, but it must not take a stage down nor keep the system from serving uploads and
events."""
import json
import socket
import tomllib

import msgpack
import pytest
import zmq

from conftest import CASES, System, server_url
from test_ops_support import log_has, stage_pids

# Five bytes announcing a msgpack array of 4,294,967,295 elements.
ARRAY_BOMB = b"\xdd\xff\xff\xff\xff"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("system"), server_url(),
                     extra_http="upload_timeout_ms = 5000")
    status, reply = running.upload(CASES / "reference.csv")
    assert status == 201, reply
    yield running
    running.stop()


def endpoint(system, name):
    with open(system.config, "rb") as config:
        return tomllib.load(config)["endpoints"][name]


def dealer(system):
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVTIMEO, 10000)
    socket.connect(endpoint(system, "bus"))
    return socket


def pids(system):
    return {stage: sorted(found) for stage, found in stage_pids(system.process.pid).items()}


def ask_broker_status(bus):
    """Sends a status request on `bus` and returns the broker's answer; the broker reads one
    peer's messages in order, so an answer means it handled everything sent before."""
    route = msgpack.packb({"service": "broker", "session": "hostile-status"})
    bus.send_multipart([route, msgpack.packb({"kind": "status_request", "v": 1})])
    _, body = bus.recv_multipart()
    return msgpack.unpackb(body, raw=False)


def test_a_five_byte_bomb_on_the_bus_leaves_the_broker_serving(system):
    before = pids(system)
    bus = dealer(system)
    bus.send(ARRAY_BOMB)  # one frame: the broker takes it for a worker's "ready"
    bus.send_multipart([msgpack.packb({"service": "loader"}), ARRAY_BOMB])

    try:
        status = ask_broker_status(bus)
    except zmq.Again:
        pytest.fail("the broker did not answer after the bomb:\n"
                    + system.log_path.read_text(errors="replace")[-3000:])
    finally:
        bus.close()
    assert status["broker"]["pid"] == before["broker"][0]
    assert not log_has(system, "stage exited"), "a stage died of a 5-byte message"
    status, reply = system.upload(CASES / "reference.csv", "table=after_bus_bomb")
    assert status == 201, reply


def sse_stream(system, view):
    """An open GET /events stream of `view`, once the server said it is connected."""
    client = socket.create_connection(("127.0.0.1", system.http_port))
    client.settimeout(15)
    client.sendall(f"GET /events?view={view} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b": connected\n\n" not in head:
        chunk = client.recv(4096)
        assert chunk, f"the stream closed before it opened: {head!r}"
        head += chunk
    return client


def next_sse_event(client):
    """The data of the next SSE event on `client`; fails when the stream ends first."""
    buffer = b""
    while True:
        lines = buffer.split(b"\n")
        for line in lines[:-1]:
            if line.startswith(b"data: "):
                return json.loads(line[6:])
        buffer = lines[-1]
        chunk = client.recv(65536)
        assert chunk, "the event stream ended: the HTTP front went away"
        buffer += chunk


def test_a_rogue_publishers_bomb_takes_no_subscriber_down(system):
    before = pids(system)
    stream = sse_stream(system, "reference_current_second")
    publisher = zmq.Context.instance().socket(zmq.XPUB)
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.setsockopt(zmq.RCVTIMEO, 10000)
    publisher.connect(endpoint(system, "events_in"))
    publisher.recv()  # the broker's subscription: from now on it forwards what we publish

    publisher.send_multipart([b"reference_current_second", ARRAY_BOMB])
    publisher.close()

    try:
        event = next_sse_event(stream)
    finally:
        stream.close()
    assert event["view"] == "reference_current_second"
    after = pids(system)
    for stage in ("broker", "http", "logger"):
        assert after[stage] == before[stage], f"{stage} died of the rogue event"
    assert not log_has(system, "stage exited"), "a stage died of the rogue event"


def test_a_session_message_the_loader_does_not_understand_does_not_pin_it(system):
    bus = dealer(system)
    route = msgpack.packb({"service": "loader", "session": "hostile-pin"})
    bus.send_multipart([route, msgpack.packb({"kind": "hello", "v": 1})])
    bus.send_multipart([msgpack.packb({"service": "loader", "session": "hostile-junk"}),
                        b"not msgpack"])
    ask_broker_status(bus)  # both reached the broker
    bus.close()

    status, reply = system.upload(CASES / "reference.csv", "table=after_pin")
    assert status == 201, reply


def test_sessions_for_a_service_nobody_serves_do_not_block_uploads(system):
    bus = dealer(system)
    for n in range(300):
        route = msgpack.packb({"service": "nobody", "session": f"hostile-{n}"})
        bus.send_multipart([route, msgpack.packb({"kind": "x", "v": 1})])
    ask_broker_status(bus)
    bus.close()

    status, reply = system.upload(CASES / "reference.csv", "table=after_flood")
    assert status == 201, reply


def test_a_peer_that_asks_and_never_reads_does_not_stall_the_broker(system):
    """Every status request gets a reply of a few KiB; a peer that never reads them fills its
    queue, and a broker that waited for it to read would serve nobody."""
    greedy = dealer(system)
    greedy.setsockopt(zmq.RCVHWM, 1)
    greedy.setsockopt(zmq.RCVBUF, 4096)
    route = msgpack.packb({"service": "broker", "session": "greedy"})
    request = msgpack.packb({"kind": "status_request", "v": 1})
    for _ in range(20000):
        greedy.send_multipart([route, request])

    other = dealer(system)
    assert "stages" in ask_broker_status(other)
    status, reply = system.upload(CASES / "reference.csv", "table=after_greedy")
    assert status == 201, reply
    other.close()
    greedy.close()


def test_a_batch_lost_on_the_way_is_503_and_leaves_no_table(system):
    """A broker restarted mid-upload loses the batches it held; the loader then sees a later
    one first. That used to be a 400 blaming the file."""
    bus = dealer(system)
    route = {"service": "loader", "session": "lost-batch", "client": "", "last": False}

    def send(body):
        bus.send_multipart([msgpack.packb(route), msgpack.packb(body)])
        return msgpack.unpackb(bus.recv_multipart()[1], raw=False)

    def batch(seq):
        return {"kind": "load_batch", "v": 1, "seq": seq, "rows": 1, "copy_text": f"{seq}\n",
                "copy_binary": b""}

    try:
        opened = send({"kind": "load_begin", "v": 1, "table": "lost_batch", "mode": "create",
                       "columns": [{"name": "n", "type": "integer"}], "headers": ["n"],
                       "format": "text"})
        assert opened["kind"] == "load_ack", opened
        assert send(batch(1))["kind"] == "load_ack"
        answer = send(batch(3))
    finally:
        bus.close()
    assert answer["kind"] == "load_result", answer
    assert (answer["status"], answer["error"]) == (503, "batch_lost"), answer
    assert "batch 2" in answer["detail"], answer
    assert system.query("SELECT count(*) FROM pg_tables WHERE tablename = 'lost_batch'") == ["0"]


def test_a_batch_of_a_session_no_loader_holds_is_503(system):
    """What a loader gets after it restarted, or after a restarted broker chose another loader
    for the rest of an upload."""
    bus = dealer(system)
    route = {"service": "loader", "session": "never-begun", "client": "", "last": False}
    try:
        bus.send_multipart([msgpack.packb(route), msgpack.packb(
            {"kind": "load_batch", "v": 1, "seq": 7, "rows": 1, "copy_text": "7\n",
             "copy_binary": b""})])
        answer = msgpack.unpackb(bus.recv_multipart()[1], raw=False)
    finally:
        bus.close()
    assert (answer["status"], answer["error"]) == (503, "session_lost"), answer
    assert "send it again" in answer["detail"], answer
