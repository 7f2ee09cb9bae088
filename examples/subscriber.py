#!/usr/bin/python3
"""A tinydevcrm event subscriber outside C++: prints each event as one JSON line.

Needs Debian's python3-zmq and python3-msgpack. Events are two frames: the view's name
(subscriptions filter by its prefix), then a msgpack map with view, table, seq, as_of,
row_count, columns and rows.

    examples/subscriber.py --endpoint tcp://127.0.0.1:5560 --view reference
"""
import argparse
import json
import sys

import msgpack
import zmq


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5560",
                        help="the broker's events_out endpoint")
    parser.add_argument("--view", default="", help="only views whose name starts so")
    parser.add_argument("--count", type=int, default=0, help="exit after N events (0: never)")
    args = parser.parse_args()

    socket = zmq.Context.instance().socket(zmq.SUB)
    socket.setsockopt(zmq.SUBSCRIBE, args.view.encode())
    socket.connect(args.endpoint)
    seen = 0
    while args.count == 0 or seen < args.count:
        _topic, body = socket.recv_multipart()
        event = msgpack.unpackb(body, raw=False)
        event.pop("kind", None)
        event.pop("v", None)
        print(json.dumps(event), flush=True)
        seen += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
