"""A subscriber that stops reading: the broker drops events for it once its queue
(events.queue_length) is full, so the broker's memory stays bounded and every other
subscriber still receives every event, in order."""
import json
import urllib.request

import msgpack
import pytest
import zmq

from conftest import System, server_url, wait_for
from test_ops_support import get_json

QUEUE = 4  # events.queue_length of this system
ROW_BYTES = 100000
ROWS = 10
EVENTS = 30  # RSS is compared after EVENTS and after 2 x EVENTS events


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """A system refreshing every 100 ms, with a small event queue and no logger stage (it
    would print every megabyte-sized event)."""
    running = System(tmp_path_factory.mktemp("slow_subscriber"), server_url(), extra=f"""
[ticker]
interval_ms = 100
[events]
queue_length = {QUEUE}
[processes]
logger = 0
""")
    yield running
    assert running.process.poll() is None, "tinydevcrm run died during the tests"
    running.stop()


def post_view(system, name, sql):
    request = urllib.request.Request(system.base_url + "/views", method="POST",
                                     data=json.dumps({"name": name, "sql": sql}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 201


def counters(system):
    status, reply = get_json(system.base_url, "/status")
    assert status == 200, reply
    return reply


def rss_bytes(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def socket(prefix, **options):
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    for option, value in options.items():
        sub.setsockopt(getattr(zmq, option), value)
    sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    return sub


def test_a_subscriber_that_stops_reading_costs_the_broker_a_bounded_queue(fast, tmp_path):
    source = tmp_path / "wide_source.csv"
    source.write_text("n\n" + "".join(f"{n}\n" for n in range(ROWS)))
    status, reply = fast.upload(source)
    assert status == 201, reply
    post_view(fast, "wide", f"SELECT n, repeat('x', {ROW_BYTES}) AS pad FROM wide_source")
    broker_pid = counters(fast)["broker"]["pid"]

    # Its own receive queue holds one event and its kernel buffer little, so the broker's
    # queue towards it fills after a few events.
    stuck = socket("wide", RCVHWM=1, RCVBUF=4096)
    before = counters(fast)["counters"]["subscriptions"]
    stuck.connect(fast.events_out)
    wait_for(lambda: counters(fast)["counters"]["subscriptions"] > before, 10,
             "the broker to see the stuck subscriber's subscription")
    readers = [socket("wide", RCVTIMEO=10000), socket("", RCVTIMEO=10000)]
    for reader in readers:
        reader.connect(fast.events_out)

    seqs = [[], []]
    sizes = []
    rss = []
    for target in (EVENTS, 2 * EVENTS):
        while len(seqs[0]) < target:
            for index, reader in enumerate(readers):
                topic, body = reader.recv_multipart()
                while topic != b"wide":
                    topic, body = reader.recv_multipart()
                seqs[index].append(msgpack.unpackb(body, raw=False)["seq"])
            sizes.append(len(body))
        rss.append(rss_bytes(broker_pid))

    for received in seqs:
        assert received == list(range(received[0], received[0] + len(received))), received
    event = max(sizes)
    assert event > ROWS * ROW_BYTES
    growth = rss[1] - rss[0]
    # The stuck subscriber holds at most QUEUE events in the broker, plus the one being
    # written to its connection; a broker that queued without bound would grow by about
    # EVENTS x event here.
    bound = (QUEUE + 2) * event
    print(f"event={event} rss={rss} growth={growth} bound={bound}")
    assert growth < bound, f"broker RSS grew {growth} bytes over {EVENTS} events of {event}"
    stuck.close()
    for reader in readers:
        reader.close()
