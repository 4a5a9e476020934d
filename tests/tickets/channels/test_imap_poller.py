"""The IMAP poller: edge cases against a fake of imaplib.IMAP4_SSL, one run against Dovecot.

The fake stands in for the IMAP server only (the database, jobs and inbound processing are
real); it answers like imaplib does with a real server: tuples for literals, `NO` for a
missing folder, `error` for a refused login, and `BODY[]` (not `.PEEK`) sets \\Seen.
"""
from __future__ import annotations

import grp
import imaplib
import ipaddress
import logging
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.extensions import db
from tests.conftest import unavailable
from tickets.channels.email import imap, inbound
from tickets.channels.email.mailboxes import configure_imap, create_mailbox, update_mailbox
from tickets.channels.email.models import InboundEmail, InboundStatus, Mailbox
from tickets.models import Ticket

HOST = "imap.example.com"
USERNAME = "help@loopdesk.test"
PASSWORD = "s3cret-Imap-Pa55"
_counter = iter(range(1, 10**6))


def mail(*, subject: str = "Printer jammed", body: str = "It jams on page 2.",
         message_id: str | None = None, sender: str = "alice@customer.test") -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = "help@loopdesk.test"
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or f"<imap{next(_counter)}@customer.test>"
    message.set_content(body)
    return message.as_bytes().replace(b"\n", b"\r\n")


def records() -> list[InboundEmail]:
    return list(db.session.scalars(select(InboundEmail).order_by(InboundEmail.id)))


def ticket_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


# ---- the fake server ----

@dataclass
class FakeMailServer:
    """What an IMAP server holds for one account: folders of messages with flags."""
    username: str = USERNAME
    password: str = PASSWORD
    folders: dict[str, dict[int, list]] = field(default_factory=lambda: {"INBOX": {}})
    next_uid: int = 1
    connections: int = 0
    logins: list[str] = field(default_factory=list)      # mechanism per login
    fetches: list[str] = field(default_factory=list)     # the FETCH item lists asked for
    contexts: list[ssl.SSLContext] = field(default_factory=list)
    store_fails: bool = False
    login_error: bytes = b"[AUTHENTICATIONFAILED] Authentication failed."

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        uid, self.next_uid = self.next_uid, self.next_uid + 1
        self.folders.setdefault(folder, {})[uid] = [raw, set()]
        return uid

    def unseen(self, folder: str = "INBOX") -> list[int]:
        return [uid for uid, (_raw, flags) in self.folders[folder].items()
                if "\\Seen" not in flags]


class FakeIMAP4_SSL:
    """imaplib.IMAP4_SSL as the poller uses it, with a real server's answers."""

    def __init__(self, registry: dict, host: str, port: int = 993, *, ssl_context=None,
                 timeout=None):
        target = registry.get((host, port))
        if target is None:
            raise ConnectionRefusedError(111, "Connection refused")
        if isinstance(target, BaseException):
            raise target
        self.server: FakeMailServer = target
        self.server.connections += 1
        self.server.contexts.append(ssl_context)
        self.logged_in = False
        self.selected: str | None = None

    def login(self, user: str, password: str):
        user.encode("ascii"), password.encode("ascii")  # imaplib's LOGIN is ASCII-only
        return self._authenticated(user, password, "LOGIN")

    def authenticate(self, mechanism: str, authobject):
        _authzid, user, password = authobject(b"").split(b"\0")
        return self._authenticated(user.decode(), password.decode(), mechanism)

    def _authenticated(self, user: str, password: str, mechanism: str):
        if (user, password) != (self.server.username, self.server.password):
            raise imaplib.IMAP4.error(self.server.login_error)
        self.logged_in = True
        self.server.logins.append(mechanism)
        return "OK", [b"Logged in"]

    def select(self, mailbox: str = "INBOX", readonly: bool = False):
        assert self.logged_in
        name = (re.sub(r"\\(.)", r"\1", mailbox[1:-1]) if mailbox.startswith('"')
                else mailbox)
        if name not in self.server.folders:
            return "NO", [f"Mailbox doesn't exist: {name}".encode()]
        self.selected = name
        return "OK", [str(len(self.server.folders[name])).encode()]

    def uid(self, command: str, *args):
        assert self.selected is not None
        messages = self.server.folders[self.selected]
        if command == "SEARCH":
            assert args == (None, "UNSEEN")
            return "OK", [" ".join(str(uid) for uid in self.server.unseen(self.selected))
                          .encode()]
        uid = int(args[0])
        if command == "FETCH":
            items = args[1]
            self.server.fetches.append(items)
            if uid not in messages:
                return "OK", [None]
            raw, flags = messages[uid]
            match = re.search(r"<0\.(\d+)>", items)
            data = raw[:int(match.group(1))] if match else raw
            if "PEEK" not in items:
                flags.add("\\Seen")
            return "OK", [(f"{uid} (UID {uid} BODY[]<0> {{{len(data)}}}".encode(), data), b")"]
        if command == "STORE":
            assert args[1:] == ("+FLAGS.SILENT", "(\\Seen)")
            if self.server.store_fails:
                return "NO", [b"[SERVERBUG] Internal error occurred."]
            if uid in messages:
                messages[uid][1].add("\\Seen")
            return "OK", [None]
        raise AssertionError(f"unexpected UID {command}")

    def logout(self):
        return "BYE", [b"Logging out"]


@pytest.fixture
def registry(monkeypatch) -> dict:
    """(host, port) → a FakeMailServer, or an exception connecting raises."""
    servers: dict = {}
    monkeypatch.setattr(imaplib, "IMAP4_SSL",
                        lambda host, port=993, **kwargs: FakeIMAP4_SSL(servers, host, port,
                                                                        **kwargs))
    return servers


@pytest.fixture
def server(registry) -> FakeMailServer:
    registry[(HOST, 993)] = fake = FakeMailServer()
    return fake


def make_mailbox(name: str = "Support", address: str = "help@loopdesk.test", *,
                 host: str = HOST, port: int = 993, password: str = PASSWORD,
                 username: str = USERNAME, folder: str = "INBOX") -> Mailbox:
    mailbox, _secret = create_mailbox(name, address)
    configure_imap(mailbox, host, port, username=username, password=password, folder=folder)
    db.session.commit()
    return mailbox


@pytest.fixture
def mailbox(app) -> Mailbox:
    return make_mailbox()


# ---- polling ----

def test_poll_stores_unseen_messages_and_only_then_marks_them_seen(server, mailbox):
    first, second = mail(subject="Printer jammed"), mail(subject="Scanner smokes")
    server.deliver(first)
    server.deliver(second)
    server.folders["INBOX"][server.deliver(mail())][1].add("\\Seen")  # read already: skipped

    stats = imap.poll(mailbox.id)

    assert (stats.fetched, stats.stored, stats.duplicates, stats.failed) == (2, 2, 0, 0)
    assert stats.error is None and not stats.more_waiting
    assert [(r.raw, r.source, r.mailbox_id) for r in records()] == [
        (first, "imap", mailbox.id), (second, "imap", mailbox.id)]
    assert server.unseen() == []
    assert all("PEEK" in items for items in server.fetches)
    assert ticket_count() == 2
    db.session.refresh(mailbox)
    assert mailbox.last_polled_at is not None and mailbox.last_poll_error is None

    again = imap.poll(mailbox.id)
    assert (again.fetched, again.stored) == (0, 0)
    assert len(records()) == 2 and ticket_count() == 2


def test_the_same_message_delivered_twice_is_stored_once(server, mailbox):
    raw = mail()
    inbound.receive(mailbox.id, raw, "http")  # came through the pipe as well
    server.deliver(raw)
    server.deliver(raw)

    stats = imap.poll(mailbox.id)

    assert (stats.fetched, stats.stored, stats.duplicates) == (2, 0, 2)
    assert len(records()) == 1 and ticket_count() == 1
    assert server.unseen() == []


def test_overlapping_polls_make_one_record_per_message(server, mailbox, monkeypatch):
    for _ in range(3):
        server.deliver(mail())
    real_receive = inbound.receive
    overlapped: list = []

    def receive_while_another_poll_runs(mailbox_id, raw, source):
        if not overlapped:
            overlapped.append("running")
            overlapped.append(imap.poll(mailbox_id))  # takes all three meanwhile
        return real_receive(mailbox_id, raw, source)

    monkeypatch.setattr(inbound, "receive", receive_while_another_poll_runs)
    stats = imap.poll(mailbox.id)

    assert overlapped[1].stored == 3
    assert (stats.fetched, stats.stored, stats.duplicates, stats.error) == (3, 0, 3, None)
    assert len(records()) == 3 and ticket_count() == 3
    assert server.unseen() == []


def test_a_message_that_cannot_be_stored_stays_unseen_and_is_taken_next_time(
        server, mailbox, monkeypatch, caplog):
    poison = mail(subject="Breaks the store")
    server.deliver(mail())
    poison_uid = server.deliver(poison)
    server.deliver(mail())
    real_receive = inbound.receive

    def failing_receive(mailbox_id, raw, source):
        if raw == poison:
            raise RuntimeError("database went away")
        return real_receive(mailbox_id, raw, source)

    monkeypatch.setattr(inbound, "receive", failing_receive)
    stats = imap.poll(mailbox.id)

    assert (stats.fetched, stats.stored, stats.failed) == (3, 2, 1)
    assert server.unseen() == [poison_uid]
    db.session.refresh(mailbox)
    assert "1 message(s) could not be stored" in mailbox.last_poll_error
    assert "could not be stored" in caplog.text

    monkeypatch.setattr(inbound, "receive", real_receive)
    retry = imap.poll(mailbox.id)
    assert (retry.fetched, retry.stored, retry.error) == (1, 1, None)
    assert len(records()) == 3 and server.unseen() == []
    db.session.refresh(mailbox)
    assert mailbox.last_poll_error is None


def test_a_message_stored_but_not_marked_seen_is_a_duplicate_next_time(server, mailbox):
    server.deliver(mail())
    server.store_fails = True

    stats = imap.poll(mailbox.id)

    assert stats.stored == 1 and "cannot be marked as seen" in stats.error
    assert len(server.unseen()) == 1
    server.store_fails = False
    again = imap.poll(mailbox.id)
    assert (again.stored, again.duplicates, again.error) == (0, 1, None)
    assert len(records()) == 1 and ticket_count() == 1 and server.unseen() == []


def test_a_poll_takes_at_most_a_batch(app, server, mailbox):
    app.config["IMAP_BATCH"] = 2
    for _ in range(3):
        server.deliver(mail())

    stats = imap.poll(mailbox.id)
    assert (stats.fetched, stats.more_waiting) == (2, True)
    assert len(server.unseen()) == 1
    rest = imap.poll(mailbox.id)
    assert (rest.fetched, rest.more_waiting) == (1, False)
    assert len(records()) == 3


def test_an_oversized_message_is_kept_as_failed_without_downloading_it_whole(
        app, server, mailbox):
    app.config["INBOUND_EMAIL_MAX_BYTES"] = 2000
    server.deliver(mail(body="x" * 20_000))

    stats = imap.poll(mailbox.id)

    assert stats.stored == 1 and stats.error is None
    assert server.fetches == ["(BODY.PEEK[]<0.2001>)"]
    record = records()[0]
    assert record.status == InboundStatus.FAILED and "limit" in record.reason
    assert record.size == 2001
    assert server.unseen() == [] and ticket_count() == 0


# ---- failures: recorded on the mailbox, never the password ----

def test_a_refused_login_is_recorded_without_the_password(server, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    server.password = "another-password"
    server.deliver(mail())

    stats = imap.poll(mailbox.id)

    assert stats.error.startswith(f"Login as '{USERNAME}' failed")
    assert "AUTHENTICATIONFAILED" in stats.error
    db.session.refresh(mailbox)
    assert mailbox.last_poll_error == stats.error and mailbox.last_polled_at is not None
    assert PASSWORD not in mailbox.last_poll_error and PASSWORD not in caplog.text
    assert records() == [] and len(server.unseen()) == 1


def test_a_server_echoing_the_password_does_not_get_it_recorded(server, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    server.username = "someone-else"
    server.login_error = f"LOGIN {USERNAME} {PASSWORD} rejected".encode()

    stats = imap.poll(mailbox.id)

    assert PASSWORD not in stats.error and "***" in stats.error
    assert PASSWORD not in caplog.text


def _cert_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                                            "verify failed: self-signed certificate")
    error.verify_message = "self-signed certificate"
    return error


@pytest.mark.parametrize("failure, expected", [
    (None, "imap.example.com:993 refused the connection."),
    (TimeoutError("timed out"), "imap.example.com:993 did not answer within 30 seconds."),
    (socket.gaierror(-2, "Name or service not known"),
     "The host imap.example.com cannot be resolved."),
    (_cert_error(), "The TLS certificate of imap.example.com:993 was not accepted: "
                    "self-signed certificate."),
    (imaplib.IMAP4.abort("socket error: EOF"), "imap.example.com:993 closed the connection"),
    (OSError(113, "No route to host"), "Network error with imap.example.com:993: "
                                       "No route to host"),
])
def test_network_and_tls_failures_are_recorded_not_raised(registry, mailbox, caplog,
                                                          failure, expected):
    caplog.set_level(logging.DEBUG)
    if failure is not None:
        registry[(HOST, 993)] = failure

    stats = imap.poll(mailbox.id)

    assert stats.error.startswith(expected)
    db.session.refresh(mailbox)
    assert mailbox.last_poll_error == stats.error
    assert PASSWORD not in caplog.text
    assert "IMAP poll of mailbox" in caplog.text


def test_certificates_are_always_verified(app, server, mailbox, tmp_path):
    imap.poll(mailbox.id)
    context = server.contexts[-1]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname

    app.config["IMAP_CA_FILE"] = str(tmp_path / "missing.pem")
    stats = imap.poll(mailbox.id)
    assert stats.error.startswith("IMAP_CA_FILE cannot be used")
    assert server.connections == 1


def test_a_missing_folder_is_recorded(server, app):
    mailbox = make_mailbox(folder="Support Queue")
    stats = imap.poll(mailbox.id)
    assert stats.error == "The folder 'Support Queue' cannot be opened: " \
                          "Mailbox doesn't exist: Support Queue"


def test_folder_names_are_quoted_and_encoded_in_modified_utf7(server, app):
    server.folders[imap._utf7("客服 \"队列\"")] = {}
    mailbox = make_mailbox(folder="客服 \"队列\"")
    server.deliver(mail(), folder=imap._utf7("客服 \"队列\""))
    assert imap.poll(mailbox.id).stored == 1
    assert imap._utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert imap._utf7("R&D") == "R&-D"


def test_non_ascii_credentials_log_in_with_sasl_plain(registry, app):
    registry[(HOST, 993)] = server = FakeMailServer(username="客服@loopdesk.test",
                                                    password="密码-pass")
    mailbox = make_mailbox(username="客服@loopdesk.test", password="密码-pass")
    assert imap.poll(mailbox.id).error is None
    assert server.logins == ["PLAIN"]
    mailbox_ascii = make_mailbox("Sales", "sales@loopdesk.test", port=1993)
    registry[(HOST, 1993)] = ascii_server = FakeMailServer()
    assert imap.poll(mailbox_ascii.id).error is None
    assert ascii_server.logins == ["LOGIN"]


def test_nothing_is_polled_for_inactive_or_disabled_mailboxes(server, mailbox):
    update_mailbox(mailbox, imap={"enabled": False})
    db.session.commit()
    assert imap.poll(mailbox.id).error == "IMAP polling is off for this mailbox."
    update_mailbox(mailbox, is_active=False, imap={"enabled": True})
    db.session.commit()
    assert imap.poll(mailbox.id).error == "IMAP polling is off for this mailbox."
    assert imap.poll(987654).error == "No such mailbox."
    assert server.connections == 0
    db.session.refresh(mailbox)
    assert mailbox.last_polled_at is None


def test_an_unreadable_stored_password_is_recorded(server, mailbox):
    mailbox.imap_password_encrypted = "not-a-fernet-token"
    db.session.commit()
    stats = imap.poll(mailbox.id)
    assert "cannot be decrypted" in stats.error and server.connections == 0
    db.session.refresh(mailbox)
    assert mailbox.last_poll_error == stats.error


# ---- jobs, ticker, CLI ----

def test_poll_all_mailboxes_polls_each_enabled_active_mailbox(registry, app):
    from tickets.channels.email.jobs import poll_all_mailboxes

    servers = {port: FakeMailServer() for port in (1001, 1002, 1003)}
    registry.update({(HOST, port): fake for port, fake in servers.items()})
    make_mailbox("One", "one@loopdesk.test", port=1001)
    disabled = make_mailbox("Two", "two@loopdesk.test", port=1002)
    inactive = make_mailbox("Three", "three@loopdesk.test", port=1003)
    update_mailbox(disabled, imap={"enabled": False})
    update_mailbox(inactive, is_active=False)
    db.session.commit()
    for fake in servers.values():
        fake.deliver(mail())

    poll_all_mailboxes()  # JOBS_EAGER: each poll runs right after the commit

    assert [fake.connections for fake in servers.values()] == [1, 0, 0]
    assert len(records()) == 1


def test_the_ticker_polls_on_its_own_interval(app):
    from service.ticker import periodic_tasks

    app.config["IMAP_POLL_SECONDS"] = 120
    task = next(task for task in periodic_tasks(app) if task.name == "imap")
    assert task.every_seconds == 120
    assert task.job.job_path == "tickets.channels.email.jobs.poll_all_mailboxes"


def test_cli_sweep_and_poll(runner, server, mailbox):
    server.deliver(mail())
    result = runner.invoke(args=["sweep", "imap"])
    assert result.exit_code == 0, result.output
    assert len(records()) == 1

    server.deliver(mail())
    result = runner.invoke(args=["mailboxes", "poll", "Support"])
    assert result.exit_code == 0, result.output
    assert "Support: fetched 1: 1 new, 0 duplicate, 0 failed" in result.output

    server.password = "changed"
    failed = runner.invoke(args=["mailboxes", "poll", "Support"])
    assert failed.exit_code == 1 and "Login as" in failed.output
    assert PASSWORD not in failed.output


# ---- a real server: Dovecot over TLS ----

@dataclass
class Dovecot:
    port: int
    username: str
    password: str
    ca_file: str

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=self.ca_file)
        client = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=5)
        client.login(self.username, self.password)
        return client

    def append(self, raw: bytes) -> None:
        client = self.client()
        try:
            assert client.append("INBOX", None, None, raw)[0] == "OK"
        finally:
            client.logout()

    def unseen(self) -> list[bytes]:
        client = self.client()
        try:
            client.select("INBOX")
            return client.uid("SEARCH", None, "UNSEEN")[1][0].split()
        finally:
            client.logout()


def _write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loopdesk test CA")])
    usage = dict(digital_signature=True, content_commitment=False, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, encipher_only=False,
                 decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(minutes=5))
              .not_valid_after(now + timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName(
                  [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(key_cert_sign=False, crl_sign=False, **usage),
                             critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def dovecot():
    """Debian's Dovecot in the foreground on 127.0.0.1, IMAP over TLS only, a Maildir."""
    binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        unavailable("Dovecot (apt-get install dovecot-imapd)", FileNotFoundError("dovecot"))
    # Not under pytest's tmp_path: as root, Dovecot's unprivileged processes must reach it.
    directory = Path(tempfile.mkdtemp(prefix="loopdesk-dovecot-"))
    directory.chmod(0o755)
    process = None
    try:
        config, server = _configure_dovecot(directory)
        process = subprocess.Popen([binary, "-F", "-c", str(config)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not _accepts_connections(server.port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = directory / "dovecot.log"
                pytest.fail("Dovecot did not start: "
                            + (log.read_text() if log.exists() else "no log"))
            time.sleep(0.05)
        yield server
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        shutil.rmtree(directory, ignore_errors=True)


def _configure_dovecot(directory: Path) -> tuple[Path, Dovecot]:
    ca_file, cert_file, key_file = _write_certificates(directory)
    mail_dir = directory / "mail"
    mail_dir.mkdir()
    if os.geteuid() == 0:  # Dovecot refuses to log users in as root: its own accounts
        internal, login = "dovecot", "dovenull"
        try:
            account = pwd.getpwnam("dovecot")
            pwd.getpwnam("dovenull")
        except KeyError as error:
            unavailable("Dovecot's system users", error)
        os.chown(mail_dir, account.pw_uid, account.pw_gid)
    else:
        account = pwd.getpwuid(os.getuid())
        internal = login = account.pw_name
    port = _free_port()
    password = "dovecot-Test-pw-1"
    (directory / "passwd").write_text(
        f"loopdesk:{{PLAIN}}{password}:{account.pw_uid}:{account.pw_gid}::{mail_dir}\n")
    config = directory / "dovecot.conf"
    config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
instance_name = loopdesk-test-{port}
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(account.pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = {account.pw_uid}
first_valid_gid = {account.pw_gid}
log_path = {directory}/dovecot.log
ssl = required
ssl_cert = <{cert_file}
ssl_key = <{key_file}
auth_mechanisms = plain
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {directory}/passwd
}}
userdb {{
  driver = passwd-file
  args = {directory}/passwd
}}
mail_location = maildir:{mail_dir}/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    return config, Dovecot(port, "loopdesk", password, str(ca_file))


@pytest.mark.integration
def test_polling_a_real_dovecot_over_tls(app, dovecot, caplog):
    caplog.set_level(logging.DEBUG)
    app.config["IMAP_CA_FILE"] = dovecot.ca_file
    mailbox = make_mailbox(host="127.0.0.1", port=dovecot.port, username=dovecot.username,
                           password=dovecot.password)
    first, second = mail(subject="Printer jammed"), mail(subject="打印机卡纸了")
    for raw in (first, second, first):  # the first one delivered twice
        dovecot.append(raw)

    stats = imap.poll(mailbox.id)

    assert (stats.fetched, stats.stored, stats.duplicates, stats.error) == (3, 2, 1, None)
    assert [record.raw for record in records()] == [first, second]
    assert ticket_count() == 2
    assert dovecot.unseen() == []
    again = imap.poll(mailbox.id)
    assert (again.fetched, again.error) == (0, None)
    assert len(records()) == 2

    # Without the test CA the server's certificate is refused: never polled unverified.
    dovecot.append(mail())
    app.config["IMAP_CA_FILE"] = None
    untrusted = imap.poll(mailbox.id)
    assert "TLS certificate of 127.0.0.1" in untrusted.error
    assert len(dovecot.unseen()) == 1
    app.config["IMAP_CA_FILE"] = dovecot.ca_file
    assert imap.poll(mailbox.id).stored == 1
    assert dovecot.unseen() == [] and len(records()) == 3

    # A wrong password: recorded, never logged or stored in clear. (Last: after a failed
    # login Dovecot makes the next one from this address wait.)
    update_mailbox(mailbox, imap={"password": "wrong-Password-9"})
    db.session.commit()
    refused = imap.poll(mailbox.id)
    assert refused.error.startswith("Login as 'loopdesk' failed")
    db.session.refresh(mailbox)
    assert mailbox.last_poll_error == refused.error
    assert "wrong-Password-9" not in caplog.text and dovecot.password not in caplog.text
