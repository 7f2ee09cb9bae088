#!/usr/bin/python3
"""A tinydevcrm event subscriber outside C++: prints each event as one JSON line.

Needs Debian's python3-zmq and python3-msgpack. Events are two frames: the view's name
(subscriptions filter by its prefix), then a msgpack map with view, table, seq, as_of,
row_count, columns, rows and truncated.

    examples/subscriber.py --endpoint tcp://127.0.0.1:5560 --view reference

Before it prints anything it makes sure its subscription is in place at the broker (a
handshake: it subscribes a fresh topic under the reserved prefix "\\0sync/" and waits for the
broker's answer on it), then says "subscribed" on stderr; no event published after that line
is missed. Topics under that prefix are never views' and are skipped.

Resume after being away: give the last seq seen and the view's full name. The subscriber
subscribes first, then asks the checker (over the broker's bus) for the logged events after
that seq, then prints live events, each seq once and in order; a gap in the live stream is
filled from the log too.

    examples/subscriber.py --view reference_current_second --since 41

With CurveZMQ on at the broker ([security] curve = true), give this subscriber's secret key
(from `tinydevcrm keygen`; its public key must be in the broker's subscriber_keys folder)
and the broker's public key:

    examples/subscriber.py --secret-key keys/alice.secret --broker-key keys/broker.public
"""
import argparse
import json
import os
import secrets
import sys
import time

import msgpack
import zmq

REPLAY_TIMEOUT_MS = 10000
REPLAY_NOTICE_MS = 2000  # a wait this long is said on stderr
# Topics under this prefix belong to the subscription handshake (kSyncTopicPrefix in
# common/wire.hpp); no view name starts with a NUL byte.
SYNC_PREFIX = b"\0sync/"
SYNC_ATTEMPT_S = 2.0


def await_subscriptions(socket, early):
    """Waits until the broker answers on a fresh sync topic: every subscription `socket` made
    before is then in place, so no later event is lost. Tries a new topic every
    SYNC_ATTEMPT_S (the broker may not be up yet). Events that arrive meanwhile are appended
    to `early`."""
    told = False
    while True:
        topic = SYNC_PREFIX + secrets.token_hex(8).encode()
        socket.setsockopt(zmq.SUBSCRIBE, topic)
        deadline = time.monotonic() + SYNC_ATTEMPT_S
        while (left := deadline - time.monotonic()) > 0:
            if not socket.poll(max(1, int(left * 1000))):
                continue
            frames = socket.recv_multipart()
            if frames[0] == topic:
                socket.setsockopt(zmq.UNSUBSCRIBE, topic)
                return
            if not frames[0].startswith(SYNC_PREFIX):
                early.append(frames)
        socket.setsockopt(zmq.UNSUBSCRIBE, topic)
        if not told:
            print("subscriber.py: waiting for the broker", file=sys.stderr, flush=True)
            told = True


def read_key(path):
    """The Z85 key on the first line of a key file."""
    with open(path) as key_file:
        return key_file.readline().strip().encode()


def make_socket(context, kind, curve):
    """A socket of `kind`; a CURVE client when `curve` is (secret key file, broker key file)."""
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    if curve:
        secret_file, broker_file = curve
        secret = read_key(secret_file)
        socket.curve_secretkey = secret
        socket.curve_publickey = zmq.curve_public(secret)
        socket.curve_serverkey = read_key(broker_file)
    return socket


class Replay:
    """Fetches logged events from the checker service through the broker's bus."""

    def __init__(self, context, endpoint, curve):
        self.socket = make_socket(context, zmq.DEALER, curve)
        self.socket.connect(endpoint)
        self.endpoint = endpoint
        self.sessions = 0

    def fetch(self, view, after, upto=0):
        """The events of `view` with after < seq <= upto (0: no bound), in seq order."""
        self.sessions += 1
        route = {"service": "checker", "session": f"py-{os.getpid()}-{self.sessions}",
                 "client": "", "last": False}
        request = {"kind": "replay_request", "v": 1, "view": view, "after": after, "upto": upto}
        self.socket.send_multipart([msgpack.packb(route), msgpack.packb(request)])
        events = []
        while True:
            if not self.socket.poll(REPLAY_NOTICE_MS):
                print(f"no answer yet from the checker through the bus at {self.endpoint};"
                      f" waiting up to {REPLAY_TIMEOUT_MS // 1000} s", file=sys.stderr)
            if not self.socket.poll(REPLAY_TIMEOUT_MS - REPLAY_NOTICE_MS):
                sys.exit(f"replay failed: view {view}: no answer through the bus at {self.endpoint}"
                         f" in {REPLAY_TIMEOUT_MS // 1000} s (wrong --bus, or no checker running)")
            _route, body = self.socket.recv_multipart()
            batch = msgpack.unpackb(body, raw=False)
            if batch.get("kind") != "replay_batch" or batch.get("error"):
                sys.exit(f"replay failed: view {view}: {batch.get('reason') or batch.get('error')}")
            if not events and batch["oldest"] > after + 1:
                print(f"events {after + 1} to {batch['oldest'] - 1} of {view} are no longer "
                      "in the event log", file=sys.stderr)
            events += batch["events"]
            if batch["done"]:
                return events


class Printer:
    """Prints each view's events once, in seq order, filling live gaps when resuming."""

    def __init__(self, replay, count):
        self.replay = replay
        self.count = count
        self.printed = 0
        self.last = {}  # view -> last seq printed
        self.resuming = False

    def done(self):
        return self.count and self.printed >= self.count

    def resume(self, view, since):
        self.resuming = True
        self.last[view] = since
        for event in self.replay.fetch(view, since):
            self.print(event)

    def live(self, event):
        last = self.last.get(event["view"])
        if self.resuming and last is not None and event["seq"] > last + 1:
            for missed in self.replay.fetch(event["view"], last, event["seq"] - 1):
                self.print(missed)
        self.print(event)

    def print(self, event):
        last = self.last.get(event["view"])
        if self.done() or (last is not None and event["seq"] <= last):
            return
        event = {k: v for k, v in event.items() if k not in ("kind", "v")}
        print(json.dumps(event), flush=True)
        self.last[event["view"]] = event["seq"]
        self.printed += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5560",
                        help="the broker's events_out endpoint")
    parser.add_argument("--bus", default="tcp://127.0.0.1:5561",
                        help="the broker's bus endpoint, for --since")
    parser.add_argument("--view", default="", help="only views whose name starts so")
    parser.add_argument("--count", type=int, default=0, help="exit after N events (0: never)")
    parser.add_argument("--since", type=int, default=None,
                        help="resume view --view (its full name) after this seq")
    parser.add_argument("--secret-key", help="CurveZMQ: this subscriber's secret key file")
    parser.add_argument("--broker-key", help="CurveZMQ: the broker's public key file")
    args = parser.parse_args()
    if args.since is not None and not args.view:
        parser.error("--since needs --view with the view's full name")
    if bool(args.secret_key) != bool(args.broker_key):
        parser.error("CurveZMQ needs both --secret-key and --broker-key")
    curve = (args.secret_key, args.broker_key) if args.secret_key else None

    context = zmq.Context.instance()
    socket = make_socket(context, zmq.SUB, curve)
    socket.setsockopt(zmq.SUBSCRIBE, args.view.encode())
    socket.connect(args.endpoint)
    early = []
    await_subscriptions(socket, early)
    print(f"subscriber.py: subscribed view_prefix={args.view!r} endpoint={args.endpoint}",
          file=sys.stderr, flush=True)
    printer = Printer(Replay(context, args.bus, curve), args.count)
    if args.since is not None:
        printer.resume(args.view, args.since)
    for _topic, body in early:
        printer.live(msgpack.unpackb(body, raw=False))
    while not printer.done():
        topic, body = socket.recv_multipart()
        if not topic.startswith(SYNC_PREFIX):
            printer.live(msgpack.unpackb(body, raw=False))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
