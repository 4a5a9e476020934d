"""Inbound email throughput: `python bench/inbound_email.py [--messages 1000]`.

Posts raw messages to `POST /api/v1/inbound/email` through the Flask test client against a
fresh PostgreSQL database (`loopdesk_bench_mail`, dropped and recreated), with jobs run
in-process right after each commit, so each request's time is the whole path: store raw →
parse → thread → intake or reply → attachments → acknowledgement recorded (MAIL_SERVER unset:
mail is kept, not sent). The mix: 50 % new tickets (a third GBK, a fifth with a PDF
attachment), 40 % replies threaded by References, 5 % out-of-office, 5 % duplicates.
Prints messages per second and per-message latency percentiles.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN_URL = "postgresql://postgres@127.0.0.1/postgres"
DATABASE = "loopdesk_bench_mail"


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1/{DATABASE}"


def message(number: int, *, reply_to: str | None = None, gbk: bool = False,
            attachment: bool = False, auto: bool = False) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Customer {number % 300} <customer{number % 300}@bench.example>"
    mail["To"] = "help@loopdesk.bench"
    mail["Date"] = formatdate()
    mail["Message-ID"] = f"<bench-{number}@bench.example>"
    if reply_to:
        mail["Subject"] = "Re: printer"
        mail["In-Reply-To"] = reply_to
        mail["References"] = reply_to
        mail.set_content(f"Still jams, see log {number}.\n\nOn Mon, support wrote:\n> old text\n")
    elif gbk:
        mail["Subject"] = "打印机卡纸"
        mail.set_content("第二页总是卡纸，请尽快处理。" * 5, charset="gbk")
    else:
        mail["Subject"] = f"Printer problem {number}"
        mail.set_content("The printer jams on page two every time. " * 5)
    if auto:
        mail["Auto-Submitted"] = "auto-replied"
    if attachment:
        mail.add_attachment(b"%PDF-1.4\n" + bytes(random.randbytes(200_000)),
                            maintype="application", subtype="pdf", filename="log.pdf")
    return mail.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    random.seed(7)
    url = fresh_database()
    from flask_migrate import upgrade

    from service import create_app
    from service.extensions import db
    from tickets.channels.email.mailboxes import create_mailbox
    from tickets.defaults import ensure_defaults

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "JOBS_EAGER": True,
                      "MAIL_SERVER": None, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING",
                      "ACK_RATE_LIMIT_PER_HOUR": 10**6})
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        ensure_defaults(timezone="Asia/Shanghai")
        _, secret = create_mailbox("Bench", "help@loopdesk.bench")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "message/rfc822"}
    sent: list[str] = []  # Message-IDs of our acknowledgements, for replies to thread on
    timings: list[float] = []
    bodies: list[bytes] = []
    for number in range(args.messages):
        roll = random.random()
        if roll < 0.05 and bodies:
            raw = random.choice(bodies)  # a duplicate delivery
        elif roll < 0.10:
            raw = message(number, auto=True)
        elif roll < 0.50 and sent:
            raw = message(number, reply_to=f"<{random.choice(sent)}>")
        else:
            raw = message(number, gbk=number % 3 == 0, attachment=number % 5 == 0)
        bodies.append(raw)
        started = time.perf_counter()
        response = client.post("/api/v1/inbound/email", data=raw, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code in (200, 202), response.json
        if number % 10 == 0:
            with app.app_context():
                from sqlalchemy import select

                from service.notify.models import OutboundMail

                sent = list(db.session.scalars(select(OutboundMail.message_id)
                                               .order_by(OutboundMail.id.desc()).limit(50)))
    with app.app_context():
        from sqlalchemy import func, select

        from tickets.channels.email.models import InboundEmail
        from tickets.models import Message, Ticket

        counts = {"inbound": db.session.scalar(select(func.count()).select_from(InboundEmail)),
                  "tickets": db.session.scalar(select(func.count()).select_from(Ticket)),
                  "messages": db.session.scalar(select(func.count()).select_from(Message))}
        statuses = dict(db.session.execute(select(InboundEmail.status, func.count())
                                           .group_by(InboundEmail.status)).all())
    total = sum(timings)
    ordered = sorted(timings)
    print(f"messages: {len(timings)}  total: {total:.1f} s  "
          f"throughput: {len(timings) / total:.1f} msg/s (one process, sequential)")
    print(f"per message: p50 {statistics.median(ordered) * 1000:.1f} ms  "
          f"p95 {ordered[int(len(ordered) * 0.95)] * 1000:.1f} ms  "
          f"max {ordered[-1] * 1000:.1f} ms")
    print(f"rows: {counts}  inbound statuses: "
          f"{ {str(key): value for key, value in statuses.items()} }")


if __name__ == "__main__":
    main()
