"""The bare ceiling: the fastest plain Python on source-pendo's path, with nothing else on it.

POSTs the given aggregation bodies (the very pages source-pendo asked for) one after the other on
one keep-alive session with ``requests`` (``stream=True``), parses each body incrementally with the
fastest way we know (``source_pendo.jsonstream.rows_of``: rows cut off the stream and parsed by
orjson, several at a time; ijson's yajl2_c backend is about three times slower), and writes one
Airbyte RECORD line per row to stdout with orjson. No snake_case, no time conversion, no CDK.

    python bench/bare_ceiling.py --url URL --api-key KEY --bodies bodies.json --stream page_events > out.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import orjson
import requests

from source_pendo.jsonstream import RESULT_ROWS, rows_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the API root, ending in /api/v1/")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--bodies", required=True, help="a JSON file holding a list of aggregation request bodies")
    parser.add_argument("--stream", required=True, help="the stream name written in each RECORD")
    args = parser.parse_args(argv)

    with open(args.bodies, encoding="utf-8") as handle:
        bodies = json.load(handle)
    session = requests.Session()
    session.headers.update({"x-pendo-integration-key": args.api_key, "content-type": "application/json"})
    url = args.url.rstrip("/") + "/aggregation"
    write = sys.stdout.buffer.write
    dumps = orjson.dumps
    stream = args.stream
    for body in bodies:
        with session.post(url, data=orjson.dumps(body), stream=True, timeout=(30, 300)) as response:
            response.raise_for_status()
            response.raw.decode_content = True
            for row in rows_of(response.raw, RESULT_ROWS):
                write(dumps({"type": "RECORD", "record": {"stream": stream, "data": row, "emitted_at": time.time_ns() // 1_000_000}}))
                write(b"\n")
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
