#!/usr/bin/python3
"""A fake webhook / SMS provider for Herald's tests (Python standard library only).

Binds 127.0.0.1 (--port 0 = any free port), prints "PORT <n>" as its first line,
and appends every request it receives to --log as one JSON line:
  {"method", "path", "headers": {lower-cased name: value}, "body": parsed JSON or
   the raw text when it is not JSON, "answer": {"status": null when dropped, "body"},
   "received_at_ms": Unix time in milliseconds when the request had been read}
The line is written before any answer, so once a client has its answer (or has
given up) the request is in the log.

The path chooses the answer, as the provider in seed 001 would give it:
  /accept            200 {"message": "Accepted", "messageId": "<uuid4>"}
  /accept-no-id      202 {"message": "Accepted"}
  /accept-not-json   200 text/plain "OK"
  /status/<code>     that status with {"error": "..."}; a 429 or 503 carries
                     "Retry-After: <--retry-after>"
  /sleep/<ms>        wait <ms> milliseconds, then answer like /accept
  /drop              read the whole request, then close without answering
  /bad-charset       400 with a long ISO-8859-1 text body holding a control character
  /drop-once         like /drop the first time this path (query included) is
                     requested, like /accept after that
  /sleep-once/<ms>   like /sleep/<ms> the first time, like /accept after that
Anything else is a 404.
"""
import argparse
import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # Headers and body go out in two writes; with Nagle on, the body would wait for
    # the client's delayed ACK (40 ms) on every answer.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - quiet: tests read the JSON log instead
        pass

    def do_POST(self):
        self.handle_request()

    def do_GET(self):
        self.handle_request()

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        received_at_ms = int(time.time() * 1000)
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        path = self.path.split("?", 1)[0]
        code, payload, content_type, headers, delay = self.choose_answer(path)
        record = {
            "method": self.command,
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body,
            "answer": {"status": code, "body": payload.decode("latin-1") if isinstance(payload, bytes) else payload},
            "received_at_ms": received_at_ms,
        }
        with self.server.log_lock:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")

        if delay:
            time.sleep(delay)
        if code is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.answer(code, payload, content_type, headers)

    def choose_answer(self, path):
        """(status or None to drop, payload, content type, extra headers, delay in s)."""
        accepted = {"message": "Accepted", "messageId": str(uuid.uuid4())}
        if path == "/accept":
            return 200, accepted, "application/json", {}, 0
        if path == "/accept-no-id":
            return 202, {"message": "Accepted"}, "application/json", {}, 0
        if path == "/accept-not-json":
            return 200, "OK", "text/plain", {}, 0
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            headers = {"Retry-After": str(self.server.retry_after)} if code in (429, 503) else {}
            return code, {"error": "scripted failure %d" % code}, "application/json", headers, 0
        if path.startswith("/sleep/"):
            return 200, accepted, "application/json", {}, int(path[len("/sleep/"):]) / 1000.0
        if path == "/drop":
            return None, None, None, {}, 0
        if path == "/bad-charset":
            # Not UTF-8, with a control character, and long: the client must tidy it.
            text = ("Ung\xfcltige Empf\xe4nger\x07nummer " * 40).encode("latin-1")
            return 400, text, "text/plain; charset=iso-8859-1", {}, 0
        if path == "/drop-once" or path.startswith("/sleep-once/"):
            with self.server.log_lock:
                first = self.path not in self.server.seen
                self.server.seen.add(self.path)
            if not first:
                return 200, accepted, "application/json", {}, 0
            if path == "/drop-once":
                return None, None, None, {}, 0
            return 200, accepted, "application/json", {}, int(path[len("/sleep-once/"):]) / 1000.0
        return 404, {"error": "no such path"}, "application/json", {}, 0

    def answer(self, code, payload, content_type, extra_headers):
        if isinstance(payload, bytes):
            data = payload
        else:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout passed while we slept).
            self.close_connection = True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True, help="file to append one JSON line per request to")
    parser.add_argument("--retry-after", type=int, default=7, help="Retry-After seconds on 429 and 503")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.log_path = args.log
    server.log_lock = threading.Lock()
    server.retry_after = args.retry_after
    server.seen = set()
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
