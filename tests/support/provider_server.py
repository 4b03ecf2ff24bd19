#!/usr/bin/python3
"""Fake Twilio and Telegram Bot API servers for Herald's tests (Python standard library only).

A real HTTP server on 127.0.0.1 (--port 0 = any free port) that speaks each
provider's documented request and answer formats. It prints "PORT <n>" as its
first line and appends every request to --log as one JSON line:
  {"method", "path", "headers": {lower-cased name: value}, "form": parsed
   form fields (Twilio), "body": parsed JSON or raw text, "answer": {"status":
   null when dropped, "body"}, "received_at_ms", "in_flight": POSTs awaiting
   their answer when this one arrived, itself included}
written before the answer, so once a client has its answer the request is logged.
With --answer-delay-ms N every POST is answered N ms after it was logged (a
slow provider, so requests overlap).

Twilio: POST /2010-04-01/Accounts/<sid>/Messages.json, form-encoded To, From or
MessagingServiceSid, Body, StatusCallback; HTTP Basic auth with --twilio-sid and
--twilio-token (else 401 with Twilio's error 20003). A missing To or sender is
Twilio's 21604 / 21603 (400). Answers by the To number (whatsapp: prefix ignored):
  +15005550001  400, error 21211 (invalid 'To' number; Twilio's own test number)
  +15005550004  400, error 21610 (the recipient has replied STOP)
  +15005550429  429, error 20429 with Retry-After: --retry-after
  +15005550500  500, error 20500
  +15005550999  read the whole request, then close without answering
  anything else 201 with a Message resource, "sid": "SM" + 32 hex, "status": "queued"
  +15005550030  201, then status callbacks "sent" and "undelivered" (ErrorCode 30003)
After a 201 with a StatusCallback, posts that URL as Twilio does, form-encoded
MessageSid, MessageStatus ("sent", then "delivered"), AccountSid, To, From,
signed with X-Twilio-Signature (HMAC-SHA1 with --twilio-token over the URL and
the sorted fields); each callback is logged as method "CALLBACK" with the URL
as path and Herald's answer.

Telegram: POST /bot<token>/sendMessage with JSON {chat_id, text, parse_mode?},
or POST /bot<token>/sendDocument as multipart/form-data with chat_id, caption?
(at most 1024 characters), parse_mode? and the file in "document" (logged as
"body": {"fields": {…}, "files": {"document": {filename, content_type, size,
sha256}}});
a token other than --telegram-token is 401 {"ok": false, "error_code": 401,
"description": "Unauthorized"}. Answers by chat_id:
  400           400 "Bad Request: chat not found"
  403           403 "Forbidden: bot was blocked by the user"
  429           429 "Too Many Requests: retry after N", parameters.retry_after = --retry-after
  500           500 "Internal Server Error"
  777           400 "Bad Request: group chat was upgraded to a supergroup chat",
                parameters.migrate_to_chat_id = -1001234567890
  999           read the whole request, then close without answering
  anything else 200 {"ok": true, "result": Message} with message_id counting up per chat
With --telegram-chat-interval-ms N, a message to a chat that had one less than N
ms before is 429 "Too Many Requests: retry after 1", as Telegram's flood control
answers a bot writing to one chat faster than once a second.
Amazon SES v2: POST /v2/email/outbound-emails with JSON {FromEmailAddress,
Destination.ToAddresses, Content.Raw.Data (base64 MIME) or Content.Simple
{Subject, Body.Text and/or Body.Html (each {Data, Charset?}), Headers[] of at most
15 {Name, Value}}, EmailTags, ConfigurationSetName?} (anything else in Content is
400 BadRequestException naming the field), signed with AWS Signature Version 4 for --ses-key-id and
--ses-secret in --ses-region, service "ses": the signature is computed again
here from the request as received (a mismatch, an unknown key or a date more
than 5 minutes off is 403 InvalidSignatureException / UnrecognizedClientException).
The log's "raw" holds the decoded MIME. Answers by the first To address:
  rejected@…     400 MessageRejected
  unverified@…   400 MailFromDomainNotVerifiedException
  throttle@…     429 TooManyRequestsException with Retry-After: --retry-after
  paused@…       400 SendingPausedException
  unavailable@…  503 ServiceUnavailable
  drop@…         read the whole request, then close without answering
  anything else  200 {"MessageId": "0100…"}
Errors carry x-amzn-ErrorType: <Name>: and {"message": …}, as SES's REST-JSON does.

SendGrid v3: POST /v3/mail/send with "Authorization: Bearer --sendgrid-key"
(else 401 with SendGrid's errors[]) and JSON {personalizations (1..1000, each
with to[]), from.email, subject, content[] (text/plain before text/html),
attachments[]?}; a request breaking those rules is 400 with errors[] naming the
field. Answers by the first personalization's first address:
  invalid@…      400 {"errors": [{"message": "Does not contain a valid address.",
                 "field": "personalizations.0.to.0.email"}]}
  throttle@…     429 with X-RateLimit-Reset: now + --retry-after (Unix seconds)
  unavailable@…  503
  drop@…         read the whole request, then close without answering
  anything else  202, empty body, X-Message-Id: <22 random characters>

Amazon SNS, for SES's event notifications: GET /sns/<name>.pem answers the file
<name>.pem of --sns-dir (a signing certificate a test made), GET /sns/confirm?…
answers SNS's ConfirmSubscriptionResponse; both are logged (method "GET").

Anything else is a 404.
"""
import argparse
import base64
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import datetime, timezone
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, urlencode

DROP = object()


def twilio_error(status, code, message):
    return status, {"code": code, "message": message,
                    "more_info": "https://www.twilio.com/docs/errors/%d" % code, "status": status}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - quiet: tests read the JSON log
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        status, data = 404, b"no such path"
        if path == "/sns/confirm":
            status, data = 200, (b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>"
                                 b"arn:aws:sns:test</SubscriptionArn></ConfirmSubscriptionResult>"
                                 b"</ConfirmSubscriptionResponse>")
        elif path.startswith("/sns/") and path.endswith(".pem") and "/" not in path[len("/sns/"):]:
            try:
                with open(self.server.sns_dir + "/" + path[len("/sns/"):], "rb") as pem:
                    status, data = 200, pem.read()
            except OSError:
                pass
        record = {"method": "GET", "path": self.path,
                  "headers": {name.lower(): value for name, value in self.headers.items()},
                  "form": {}, "body": None, "raw": None, "answer": {"status": status, "body": None},
                  "received_at_ms": int(time.time() * 1000)}
        with self.server.lock:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        received_at_ms = int(time.time() * 1000)
        with self.server.lock:
            self.server.in_flight += 1
            self.counted = True
            in_flight = self.server.in_flight
        try:
            self.post(raw, received_at_ms, in_flight)
        finally:
            self.uncount()

    def uncount(self):
        """This request no longer awaits its answer (once per request)."""
        with self.server.lock:
            if self.counted:
                self.server.in_flight -= 1
                self.counted = False

    def post(self, raw, received_at_ms, in_flight):
        text = raw.decode("utf-8", errors="replace")
        form = {}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            form = {name: values[-1] for name, values in parse_qs(text, keep_blank_values=True).items()}
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            body = self.multipart(self.headers["Content-Type"], raw)
        path = self.path.split("?", 1)[0]
        raw_mime = None
        if path == "/v3/mail/send":
            status, payload, headers = self.sendgrid(body)
        elif path == "/v2/email/outbound-emails":
            status, payload, headers = self.ses(path, raw, body)
            if isinstance(body, dict):
                try:
                    raw_mime = base64.b64decode(body["Content"]["Raw"]["Data"], validate=True).decode("utf-8", "replace")
                except (KeyError, TypeError, ValueError):
                    raw_mime = None
        elif path.startswith("/2010-04-01/Accounts/"):
            status, payload, headers = self.twilio(path, form)
        elif path.startswith("/bot"):
            status, payload, headers = self.telegram(path, body)
        else:
            status, payload, headers = 404, {"error": "no such path"}, {}
        record = {
            "method": self.command, "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "form": form, "body": body, "raw": raw_mime,
            "answer": {"status": None if payload is DROP else status, "body": None if payload is DROP else payload},
            "received_at_ms": received_at_ms, "in_flight": in_flight,
        }
        with self.server.lock:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        if self.server.answer_delay_ms > 0:
            time.sleep(self.server.answer_delay_ms / 1000.0)
        # Counted out before the answer's bytes go, so the next request the
        # client sends once it has its answer is never counted beside this one.
        self.uncount()
        if payload is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.answer(status, payload, headers)
        callback = form.get("StatusCallback")
        if path.startswith("/2010-04-01/Accounts/") and status == 201 and callback:
            threading.Thread(target=self.twilio_status_callbacks, args=(callback, form, payload["sid"]),
                             daemon=True).start()

    def twilio_status_callbacks(self, url, form, message_sid):
        to = form.get("To", "")
        failing = to.endswith("+15005550030")
        for status in ("sent", "undelivered" if failing else "delivered"):
            fields = {"MessageSid": message_sid, "SmsSid": message_sid, "MessageStatus": status, "SmsStatus": status,
                      "AccountSid": self.server.twilio_sid, "To": to, "From": form.get("From", ""),
                      "ApiVersion": "2010-04-01"}
            if status == "undelivered":
                fields["ErrorCode"] = "30003"
            signed = url + "".join(name + fields[name] for name in sorted(fields))
            signature = base64.b64encode(
                hmac.new(self.server.twilio_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
            request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    result = {"status": answer.status, "body": answer.read().decode("utf-8", "replace")}
            except urllib.error.HTTPError as error:
                result = {"status": error.code, "body": error.read().decode("utf-8", "replace")}
            except OSError as error:
                result = {"status": None, "body": str(error)}
            record = {"method": "CALLBACK", "path": url, "headers": {"x-twilio-signature": signature},
                      "form": fields, "body": None, "raw": None, "answer": result,
                      "received_at_ms": int(time.time() * 1000)}
            with self.server.lock:
                with open(self.server.log_path, "a", encoding="utf-8") as log:
                    log.write(json.dumps(record) + "\n")

    def ses_signature_problem(self, path, raw):
        """None when the request is signed as SigV4 says, else (status, error type, message)."""
        authorization = self.headers.get("Authorization", "")
        prefix = "AWS4-HMAC-SHA256 "
        if not authorization.startswith(prefix):
            return 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
        fields = dict(part.strip().split("=", 1) for part in authorization[len(prefix):].split(","))
        key_id, date, region, service, terminator = fields.get("Credential", "////").split("/")
        if key_id != self.server.ses_key_id:
            return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
        amz_date = self.headers.get("X-Amz-Date", "")
        try:
            sent = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return 403, "InvalidSignatureException", "X-Amz-Date is missing or malformed"
        if abs((datetime.now(timezone.utc) - sent).total_seconds()) > 300 or date != amz_date[:8]:
            return 403, "InvalidSignatureException", "Signature expired"
        if region != self.server.ses_region or service != "ses" or terminator != "aws4_request":
            return 403, "InvalidSignatureException", "Credential should be scoped to a valid region and service"
        signed = fields.get("SignedHeaders", "").split(";")
        if not {"host", "x-amz-date", "content-type"} <= set(signed):
            return 403, "InvalidSignatureException", "host, x-amz-date and content-type must be signed"
        canonical_headers = "".join(
            "%s:%s\n" % (name, " ".join(",".join(self.headers.get_all(name) or []).split())) for name in signed)
        canonical = "\n".join([self.command, quote(path, safe="/-_.~"), "", canonical_headers, ";".join(signed),
                               hashlib.sha256(raw).hexdigest()])
        scope = "/".join([date, region, service, terminator])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.server.ses_secret).encode()
        for part in (date, region, service, terminator):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return 403, "InvalidSignatureException", ("The request signature we calculated does not match the "
                                                      "signature you provided.")
        return None

    @staticmethod
    def ses_content_problem(body):
        content = body.get("Content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or len(content) != 1 or next(iter(content)) not in ("Raw", "Simple"):
            return "Content must hold exactly one of Raw and Simple"
        if "Raw" in content:
            return None if isinstance(content["Raw"], dict) and "Data" in content["Raw"] else "Content.Raw.Data is required"
        simple = content["Simple"]
        def text(field, value):
            if not isinstance(value, dict) or not isinstance(value.get("Data"), str):
                return field + ".Data must be a string"
            if set(value) - {"Data", "Charset"}:
                return field + " takes Data and Charset only"
            return None
        problem = text("Content.Simple.Subject", simple.get("Subject"))
        body_parts = simple.get("Body")
        if problem is None and (not isinstance(body_parts, dict) or not body_parts or set(body_parts) - {"Text", "Html"}):
            problem = "Content.Simple.Body needs Text, Html or both"
        for name in ("Text", "Html"):
            if problem is None and name in body_parts:
                problem = text("Content.Simple.Body." + name, body_parts[name])
        headers = simple.get("Headers", [])
        if problem is None and (not isinstance(headers, list) or len(headers) > 15):
            problem = "Content.Simple.Headers takes at most 15 headers"
        for header in headers if problem is None else []:
            if not isinstance(header, dict) or set(header) != {"Name", "Value"} or "\n" in header["Value"]:
                problem = "Content.Simple.Headers members are {Name, Value} on one line"
                break
        return problem

    def ses(self, path, raw, body):
        def failed(status, name, message, extra=None):
            headers = {"x-amzn-ErrorType": name + ":http://internal.amazon.com/coral/com.amazonaws.sesv2/"}
            headers.update(extra or {})
            return status, {"message": message}, headers
        problem = self.ses_signature_problem(path, raw)
        if problem:
            return failed(*problem)
        problem = self.ses_content_problem(body)
        if problem:
            return failed(400, "BadRequestException", problem)
        to = (body.get("Destination", {}).get("ToAddresses") or [""])[0]
        if to.endswith(">") and "<" in to:  # "Name <address>"
            to = to[to.rindex("<") + 1:-1]
        local = to.split("@", 1)[0]
        if local == "rejected":
            return failed(400, "MessageRejected", "Email address is not verified. %s" % to)
        if local == "unverified":
            return failed(400, "MailFromDomainNotVerifiedException", "MAIL FROM domain is not verified")
        if local == "throttle":
            return failed(429, "TooManyRequestsException", "Maximum sending rate exceeded.",
                          {"Retry-After": str(self.server.retry_after)})
        if local == "paused":
            return failed(400, "SendingPausedException", "Sending is paused for this account.")
        if local == "unavailable":
            return failed(503, "ServiceUnavailable", "Service unavailable")
        if local == "drop":
            return None, DROP, {}
        return 200, {"MessageId": "0100" + uuid.uuid4().hex + "-000000"}, {}

    def sendgrid(self, body):
        def failed(status, message, field=None, extra=None):
            return status, {"errors": [{"message": message, "field": field, "help": None}]}, extra or {}
        if self.headers.get("Authorization") != "Bearer " + self.server.sendgrid_key:
            return failed(401, "The provided authorization grant is invalid, expired, or revoked")
        if not isinstance(body, dict):
            return failed(400, "Bad Request", None)
        personalizations = body.get("personalizations") or []
        if not 1 <= len(personalizations) <= 1000:
            return failed(400, "The personalizations field is required and must have at least one personalization.",
                          "personalizations")
        if not all(p.get("to") for p in personalizations):
            return failed(400, "The to array is required for all personalization objects", "personalizations.0.to")
        if not (body.get("from") or {}).get("email"):
            return failed(400, "The from object must be provided for every email send.", "from")
        content = body.get("content") or []
        if not content or any(not part.get("value") for part in content):
            return failed(400, "Unless a valid template_id is provided, the content parameter is required.", "content")
        types = [part.get("type") for part in content]
        if "text/html" in types and "text/plain" in types and types.index("text/plain") > types.index("text/html"):
            return failed(400, "If present, text/plain content must be first, followed by text/html.", "content.0.type")
        local = personalizations[0]["to"][0].get("email", "").split("@", 1)[0]
        if local == "invalid":
            return failed(400, "Does not contain a valid address.", "personalizations.0.to.0.email")
        if local == "throttle":
            return 429, {"errors": [{"field": None, "message": "too many requests"}]}, {
                "X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + self.server.retry_after)}
        if local == "unavailable":
            return failed(503, "Service Unavailable")
        if local == "drop":
            return None, DROP, {}
        return 202, None, {"X-Message-Id": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]}

    def twilio(self, path, form):
        parts = path.split("/")  # ['', '2010-04-01', 'Accounts', sid, 'Messages.json']
        if len(parts) != 5 or parts[4] != "Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}, {}
        sid = parts[3]
        expected = "Basic " + base64.b64encode(
            ("%s:%s" % (self.server.twilio_sid, self.server.twilio_token)).encode()).decode()
        if sid != self.server.twilio_sid or self.headers.get("Authorization") != expected:
            return twilio_error(401, 20003, "Authenticate") + ({},)
        to = form.get("To", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.") + ({},)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' phone number is required.") + ({},)
        number = to[len("whatsapp:"):] if to.startswith("whatsapp:") else to
        if number == "+15005550001":
            return twilio_error(400, 21211, "The 'To' number %s is not a valid phone number." % number) + ({},)
        if number == "+15005550004":
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient") + ({},)
        if number == "+15005550429":
            return twilio_error(429, 20429, "Too Many Requests") + ({"Retry-After": str(self.server.retry_after)},)
        if number == "+15005550500":
            return twilio_error(500, 20500, "Internal Server Error") + ({},)
        if number == "+15005550999":
            return None, DROP, {}
        message_sid = "SM" + uuid.uuid4().hex
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        return 201, {
            "account_sid": sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": message_sid, "status": "queued", "to": to,
            "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (sid, message_sid),
        }, {}

    @staticmethod
    def multipart(content_type, raw):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        fields, files = {}, {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            if part.get_filename() is None:
                fields[name] = data.decode("utf-8", "replace")
            else:
                files[name] = {"filename": part.get_filename(), "content_type": part.get_content_type(),
                               "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        return {"fields": fields, "files": files}

    def telegram(self, path, body):
        token, _, method = path[len("/bot"):].partition("/")
        if token != self.server.telegram_token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}
        if method not in ("sendMessage", "sendDocument"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, {}
        document = None
        if method == "sendDocument":
            if not isinstance(body, dict) or "files" not in body:
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: there is no document in the request"}, {}
            document = body["files"].get("document")
            fields = body["fields"]
            if document is None:
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: there is no document in the request"}, {}
            if len(fields.get("caption", "")) > 1024:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message caption is too long"}, {}
            if "chat_id" not in fields:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}, {}
            body = {"chat_id": fields["chat_id"], "caption": fields.get("caption", "")}
        elif not isinstance(body, dict) or "chat_id" not in body or not body.get("text"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}, {}
        chat = str(body["chat_id"])

        def failed(status, description, parameters=None):
            answer = {"ok": False, "error_code": status, "description": description}
            if parameters:
                answer["parameters"] = parameters
            return status, answer, {}
        if chat == "400":
            return failed(400, "Bad Request: chat not found")
        if chat == "403":
            return failed(403, "Forbidden: bot was blocked by the user")
        if chat == "429":
            return failed(429, "Too Many Requests: retry after %d" % self.server.retry_after,
                          {"retry_after": self.server.retry_after})
        if chat == "500":
            return failed(500, "Internal Server Error")
        if chat == "777":
            return failed(400, "Bad Request: group chat was upgraded to a supergroup chat",
                          {"migrate_to_chat_id": -1001234567890})
        if chat == "999":
            return None, DROP, {}
        now_ms = time.monotonic() * 1000
        with self.server.lock:
            last_ms = self.server.last_chat_message_ms.get(chat)
            flooded = last_ms is not None and now_ms - last_ms < self.server.telegram_chat_interval_ms
            if not flooded:
                self.server.last_chat_message_ms[chat] = now_ms
        if flooded:
            return failed(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        with self.server.lock:
            self.server.message_ids[chat] = self.server.message_ids.get(chat, 0) + 1
            message_id = self.server.message_ids[chat]
        bot_id = int(self.server.telegram_token.split(":", 1)[0])
        result = {"message_id": message_id,
                  "from": {"id": bot_id, "is_bot": True, "first_name": "Herald", "username": "herald_test_bot"},
                  "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
                  "date": int(time.time())}
        if document is None:
            result["text"] = body["text"]
        else:
            result["caption"] = body["caption"]
            result["document"] = {"file_name": document["filename"], "mime_type": document["content_type"],
                                  "file_id": "BQAC" + document["sha256"][:24], "file_size": document["size"]}
        return 200, {"ok": True, "result": result}, {}

    def answer(self, status, payload, extra_headers):
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--retry-after", type=int, default=7)
    parser.add_argument("--twilio-sid", default="AC" + "0" * 32)
    parser.add_argument("--twilio-token", default="twilio-test-token")
    parser.add_argument("--telegram-token", default="123456:TEST-token_for-herald")
    parser.add_argument("--sendgrid-key", default="SG.test-key")
    parser.add_argument("--ses-key-id", default="AKIDEXAMPLE")
    parser.add_argument("--ses-secret", default="ses-test-secret")
    parser.add_argument("--ses-region", default="eu-west-1")
    parser.add_argument("--sns-dir", default=".")
    parser.add_argument("--telegram-chat-interval-ms", type=float, default=0)
    parser.add_argument("--answer-delay-ms", type=float, default=0)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.log_path = args.log
    server.lock = threading.Lock()
    server.retry_after = args.retry_after
    server.twilio_sid = args.twilio_sid
    server.twilio_token = args.twilio_token
    server.telegram_token = args.telegram_token
    server.sendgrid_key = args.sendgrid_key
    server.ses_key_id = args.ses_key_id
    server.ses_secret = args.ses_secret
    server.ses_region = args.ses_region
    server.sns_dir = args.sns_dir
    server.message_ids = {}
    server.last_chat_message_ms = {}
    server.telegram_chat_interval_ms = args.telegram_chat_interval_ms
    server.answer_delay_ms = args.answer_delay_ms
    server.in_flight = 0
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
