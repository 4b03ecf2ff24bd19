#!/usr/bin/python3
"""Reference for bench/api: what a typical Python service does for the same request.

POST /api/v1/messages: parse the JSON, check the fields, insert the message and its
recipients into SQLite (WAL, synchronous=FULL, one commit per request, as an ORM
session per request would), answer 202 with the ids. Python's standard library
only, a thread per connection. Usage: reference_server.py PORT DB_PATH
"""
import json
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

local = threading.local()


def connection(path):
    if not hasattr(local, "db"):
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        local.db = db
    return local.db


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            request = json.loads(body)
            recipients = request["recipients"]
            content = request["content"]
            if not recipients or not isinstance(content, str):
                raise ValueError("bad request")
        except (ValueError, KeyError, TypeError):
            return self.answer(400, {"error": {"code": "VALIDATION_FAILED", "message": "bad request"}})
        db = connection(self.server.db_path)
        now = int(time.time() * 1000)
        db.execute("BEGIN IMMEDIATE")
        cursor = db.execute("INSERT INTO messages (content, created_at) VALUES (?, ?)", (content, now))
        message_id = cursor.lastrowid
        ids = []
        for r in recipients:
            c = db.execute("INSERT INTO recipients (message_id, channel, address, status) VALUES (?, ?, ?, 'queued')",
                           (message_id, r["channel"], r["to"]))
            ids.append(c.lastrowid)
        db.execute("COMMIT")
        self.answer(202, {"id": message_id, "status": "queued",
                          "recipients": [{"id": i, "status": "queued"} for i in ids]})

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # wrk closes its connections mid-request when its time is up


def main():
    port, db_path = int(sys.argv[1]), sys.argv[2]
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, content TEXT, created_at INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS recipients (id INTEGER PRIMARY KEY, message_id INTEGER, channel TEXT, "
               "address TEXT, status TEXT)")
    db.close()
    server = Server(("127.0.0.1", port), Handler)
    server.db_path = db_path
    server.serve_forever()


if __name__ == "__main__":
    main()
