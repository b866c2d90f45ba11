"""Bodies read exactly over real sockets: chunked HTTP cut anywhere, and a record with an integer
beyond 64 bits emitted end to end."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
import requests

from source_pendo.jsonstream import ARRAY_ROWS, RESULT_ROWS, BrokenResponse, iter_rows

from .conftest import records_of, run_read

BODIES = {
    "/aggregation": (
        RESULT_ROWS,
        rb'{"startTime": 1793491200000, "results": ['
        rb'{"visitorId": "a", "big": 18446744073709551616, "neg": -9223372036854775809, "ok": 18446744073709551615}, '
        rb'{"visitorId": "b", "ua": "\ud800 \udc00 \ud800\u0041 \ud83d\ude00", "props": "},{\"visitorId\": 1}]},"}, '
        + '{"visitorId": "c", "text": "Île-de-France 金融 🛍️", "nested": [{"x": [1, {"y": null}]}]}]}'.encode(),
        [
            {"visitorId": "a", "big": "18446744073709551616", "neg": "-9223372036854775809", "ok": 18446744073709551615},
            {"visitorId": "b", "ua": "\ufffd \ufffd \ufffdA \U0001f600", "props": '},{"visitorId": 1}]},'},
            {"visitorId": "c", "text": "Île-de-France 金融 🛍️", "nested": [{"x": [1, {"y": None}]}]},
        ],
    ),
    "/empty": (RESULT_ROWS, b'{"startTime": 1793491200000, "results": null}', []),
    "/array": (ARRAY_ROWS, b'[{"id": "p1", "n": 123456789012345678901234567890}, {"id": "p2", "s": "\\udfff"}]',
               [{"id": "p1", "n": "123456789012345678901234567890"}, {"id": "p2", "s": "\ufffd"}]),
    "/invalid": (RESULT_ROWS, b'{"startTime": 007, "results": [{"a": 1}]}', None),
}


class ChunkedBodies(BaseHTTPRequestHandler):
    """Serves BODIES with Transfer-Encoding: chunked, in chunks of the size the query names."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path, _, size = self.path.partition("?chunk=")
        _, data, _ = BODIES[path]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = int(size)
        for offset in range(0, len(data), step):
            piece = data[offset : offset + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChunkedBodies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 20])
def test_chunked_bodies_over_http_are_read_exactly(server_url, path, chunk):
    prefix, _, expected = BODIES[path]
    with requests.get(f"{server_url}{path}?chunk={chunk}", stream=True, timeout=10) as response:
        if expected is None:
            with pytest.raises(BrokenResponse, match="not valid JSON"):
                list(iter_rows(response, prefix))
        else:
            assert list(iter_rows(response, prefix)) == expected


def test_an_integer_beyond_64_bits_in_a_custom_field_is_emitted_as_its_digits(simulator, config):
    """Pendo's catalogue types the field as an integer; its value does not fit in 64 bits. The record
    carries its exact digits and the CDK's writer (orjson, which refuses such ints) takes it."""
    account = simulator.dataset.accounts[0]
    account["metadata"]["custom"]["seat_count"] = 123456789012345678901
    records = {record["account_id"]: record for record in records_of(run_read(config, ["accounts"]), "accounts")}
    record = records[account["accountId"]]
    assert record["metadata_custom"]["seat_count"] == "123456789012345678901"
    assert b'"seat_count":"123456789012345678901"' in orjson.dumps(record)
