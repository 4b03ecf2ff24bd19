#!/usr/bin/python3
"""A capturing SMTP server for Herald's tests, built on Debian's python3-aiosmtpd.

Binds 127.0.0.1 (port 0 = any free port), prints "PORT <n>" as its first line,
and stores every accepted message as <dir>/<seq>.eml with <seq>.json holding the
envelope (mail_from, rcpt_tos). Misbehaviour on request, to test delivery logic:

  --fail-first N       answer the first N DATA commands with 451 (then accept)
  --reject TEXT        answer 550 to RCPT TO addresses containing TEXT
  --drop-after-data N  for the first N messages, read the whole message and then
                       close the connection without replying
  --slow-ms MS         wait MS milliseconds before answering each message
  --starttls CERT KEY  offer and require STARTTLS with this certificate
  --auth USER:PASS     require AUTH (PLAIN or LOGIN) with these credentials

aiosmtpd does not offer PIPELINING, so clients talk to it in lock-step.
"""
import argparse
import asyncio
import json
import logging
import os
import ssl
import socket
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


class Capture:
    def __init__(self, args):
        self.args = args
        self.sequence = 0
        self.data_commands = 0
        self.dropped = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject and self.args.reject in address:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.args.slow_ms:
            await asyncio.sleep(self.args.slow_ms / 1000.0)
        if self.data_commands <= self.args.fail_first:
            return "451 4.3.0 temporary failure, try again later"
        if self.dropped < self.args.drop_after_data:
            self.dropped += 1
            server.transport.close()
            return None
        self.sequence += 1
        base = os.path.join(self.args.dir, "%06d" % self.sequence)
        with open(base + ".eml.part", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".eml.part", base + ".eml")
        return "250 2.0.0 Ok: queued as Q%06d" % self.sequence


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--reject", default="")
    parser.add_argument("--drop-after-data", type=int, default=0)
    parser.add_argument("--slow-ms", type=int, default=0)
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", default="")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    tls_context = None
    if args.starttls:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.starttls[0], args.starttls[1])

    def authenticate(server, session, envelope, mechanism, auth_data):
        user, _, password = args.auth.partition(":")
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: let aiosmtpd answer 535 itself on a wrong password.
        return AuthResult(success=ok, handled=False)

    # A connection dropped on purpose makes aiosmtpd log the failed reply; that is expected.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    handler = Capture(args)

    class Factory(Controller):
        def factory(self):
            return SMTP(self.handler,
                        decode_data=False,
                        enable_SMTPUTF8=True,
                        tls_context=tls_context,
                        require_starttls=bool(tls_context),
                        authenticator=authenticate if args.auth else None,
                        auth_required=bool(args.auth),
                        auth_require_tls=bool(tls_context),
                        hostname="capture.test")

    # aiosmtpd's Controller binds a fixed port; find a free one first when asked for 0.
    port = args.port
    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    controller = Factory(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    print("PORT %d" % port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
