"""A real SMTP server (aiosmtpd) for the e-mail channel's tests.

Started by contact/tests/support/smtp.rs on a free port of 127.0.0.1; prints
`LISTENING <port>` once it accepts connections, and exits when its standard input closes
(the test process ended, even killed). Each accepted message is stored in --maildir as
`<n>.eml` (the message as received) and `<n>.json` (envelope, TLS, login and the
decoded headers and text), the JSON
renamed into place last so a reader never sees half a message.

Recipients whose local part is `nobody`, `blocked` or `busy` are refused as a real relay
would refuse them, so the channel's failure classification meets real SMTP replies.

Needs aiosmtpd: python3 -m pip install aiosmtpd==1.4.6
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import ssl
import sys
import threading

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed: run `python3 -m pip install aiosmtpd==1.4.6`\n"
    )
    sys.exit(3)

REFUSALS = {
    "nobody": "550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table",
    "blocked": "554 5.7.1 <{}>: Recipient address rejected: Access denied (sender blocked)",
    "busy": "451 4.3.0 <{}>: Temporary lookup failure, try again later",
}


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local in REFUSALS:
            return REFUSALS[local].format(address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        parsed = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        )
        meta = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            # Either upgraded by STARTTLS or wrapped from the first byte.
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": login,
            # Decoded, so the test compares text rather than transfer encodings.
            "from": str(parsed["From"]),
            "to": str(parsed["To"]),
            "replyTo": str(parsed["Reply-To"]) if parsed["Reply-To"] else None,
            "subject": str(parsed["Subject"]),
            "messageId": str(parsed["Message-ID"]),
            "body": parsed.get_body(preferencelist=("plain",)).get_content(),
        }
        base = os.path.join(self.maildir, str(n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK: queued as {}".format(n)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--maildir", required=True)
    p.add_argument("--security", choices=["none", "starttls", "tls"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()

    context = None
    if args.security != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    handler = Handler(args.maildir)

    def factory():
        return SMTP(
            handler,
            hostname="recobro-test-smtp",
            tls_context=context if args.security == "starttls" else None,
            require_starttls=args.security == "starttls",
            authenticator=authenticator if args.user else None,
            auth_required=bool(args.user),
            # aiosmtpd only knows of TLS it started itself (STARTTLS): with implicit
            # TLS every connection is already encrypted.
            auth_require_tls=args.security == "starttls",
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory,
            host="127.0.0.1",
            port=0,
            ssl=context if args.security == "tls" else None,
        )
        port = server.sockets[0].getsockname()[1]
        print("LISTENING {}".format(port), flush=True)
        await server.serve_forever()

    # The test owns this process: when its end of stdin closes, stop.
    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
