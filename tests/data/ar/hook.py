#!/usr/bin/env python3
"""A webhook receiver for the tests: POST bodies appended to a file, one a
line; the first N requests (argv[3]) get HTTP 500 to exercise retries."""
import http.server
import sys

out, port, fail_first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = 0


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 65536))
        seen += 1
        if seen <= fail_first:
            self.send_response(500)
            self.end_headers()
            return
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
