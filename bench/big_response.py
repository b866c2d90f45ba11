"""One huge aggregation response, for the memory section of the benchmark.

A stand-in for Pendo that answers `POST /api/v1/aggregation` for `pageEvents`: the window that
holds the day `--day` gets `--rows` rows in one response, whatever `limit` asked (Pendo's own
answers are as large as a window is dense; this makes one as large as wanted); every other window
gets no rows, and a next page the rows after (`>`) or of (`==`) the visitor its filter names. Rows are written as they are made (chunked transfer), so the
server holds none of them. The simulator cannot do this: it builds and sorts a window in memory.

    python bench/big_response.py --rows 5000000 --day 1790000000000   # prints {"url": ...} when ready
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DAY_MS = 86_400_000
ROWS_PER_CHUNK = 2_000
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


def row(day: int, number: int) -> bytes:
    first = day + (number * 7919) % DAY_MS
    return (
        f'{{"accountId":"acct-{number % 977}","visitorId":"v{number:010d}","appId":-323232,"day":{day},'
        f'"pageId":"page-{number % 31}","numEvents":1,"numMinutes":1,"firstTime":{first},"lastTime":{first},'
        f'"remoteIp":"10.0.{number % 256}.{number % 251}","server":"app.example.com","userAgent":"{USER_AGENT}","parameters":{{}}}}'
    ).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    rows = 0
    day = 0

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        pipeline = body["request"]["pipeline"]
        series = pipeline[0]["source"]["timeSeries"]
        first_day = series["first"] - series["first"] % DAY_MS
        holds_the_day = first_day <= self.day < first_day + series["count"] * DAY_MS
        numbers = range(self.rows) if holds_the_day else range(0)
        for step in pipeline[1:]:
            # A next page asks for the visitors after the last whole one it read (`>`), or for one
            # visitor alone (`==`): each row has a visitor of its own, numbered as the row.
            found = re.search(r'visitorId\s*(>|==)\s*"v(\d+)"', str(step.get("filter", "")))
            if found:
                number = int(found.group(2))
                numbers = numbers[number + 1:] if found.group(1) == ">" else numbers[number:number + 1]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(b'{"startTime":%d,"results":[' % series["first"])
        for start in range(0, len(numbers), ROWS_PER_CHUNK):
            batch = b",".join(row(self.day, number) for number in numbers[start:start + ROWS_PER_CHUNK])
            self._chunk((b"," if start else b"") + batch)
        self._chunk(b"]}")
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--day", type=int, required=True, help="UTC midnight (epoch ms) of the day whose window gets the rows")
    args = parser.parse_args(argv)
    Handler.rows, Handler.day = args.rows, args.day
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_port}/api/v1/"}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the benchmark closes our stdin
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
