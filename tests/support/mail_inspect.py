#!/usr/bin/python3
"""Summarises captured or outbox e-mails as JSON, using Python's own email parser.

Usage: mail_inspect.py FILE_OR_DIR...   (directories: every *.eml inside)
Prints a JSON list: for each message its path, headers of interest, parser
defects, text body and attachments (filename, content type, size, sha256).
Tests use it to check what Herald produced with a parser nobody here wrote.
"""
import email
import email.policy
import hashlib
import json
import os
import sys


def inspect(path):
    with open(path, "rb") as f:
        raw = f.read()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    attachments = []
    text = None
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            data = part.get_payload(decode=True) or b""
            attachments.append({
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            })
        elif part.get_content_type() == "text/plain" and text is None:
            text = part.get_content().replace("\r\n", "\n")
    defects = [type(d).__name__ for d in message.defects]
    for part in message.walk():
        defects += [type(d).__name__ for d in part.defects]
    return {
        "path": path,
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "date": str(message.get("Date", "")),
        "message_id": str(message.get("Message-ID", "")),
        "header_count": len(message.keys()),
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
        "defects": defects,
        "text": text,
        "attachments": attachments,
    }


def main(args):
    paths = []
    for arg in args:
        if os.path.isdir(arg):
            paths += sorted(os.path.join(arg, n) for n in os.listdir(arg) if n.endswith(".eml"))
        else:
            paths.append(arg)
    json.dump([inspect(p) for p in paths], sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
