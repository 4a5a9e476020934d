"""Configuration read from the environment when the app is created (never at import)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def _instance_dir(root: Path) -> Path:
    path = root / "instance"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path) -> str:
    """Use SECRET_KEY, else a key generated once into instance/secret_key."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        # O_EXCL so two processes starting together cannot write different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(root: Path) -> dict[str, Any]:
    """Build the app config from environment variables, with embedded-mode defaults."""
    instance = _instance_dir(root)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'loopdesk.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    redis_url = os.environ.get("REDIS_URL") or None
    return _console_settings() | {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),  # STARTTLS on a plain port (587)
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),  # TLS from the first byte (465)
        "WEEKLY_REPORTS_ENABLED": _bool("WEEKLY_REPORTS_ENABLED", True),
        # Daily rollups answer long report periods (service.reports.rollup); off: every
        # report is counted from its rows, exactly, however long the period.
        "REPORT_ROLLUPS": _bool("REPORT_ROLLUPS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Loopdesk Support <support@loopdesk.local>"),
        "TICKER_INTERVAL_SECONDS": int(os.environ.get("TICKER_INTERVAL_SECONDS", "30")),
        # IMAP mailbox polling: how often, and a CA bundle to trust besides the system's
        # (a private CA); certificates are always verified.
        "IMAP_POLL_SECONDS": int(os.environ.get("IMAP_POLL_SECONDS", "60")),
        "IMAP_CA_FILE": os.environ.get("IMAP_CA_FILE") or None,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_PUBLIC": os.environ.get("RATELIMIT_PUBLIC", "20 per minute;200 per hour"),
        # The mail-server pipe delivers bursts; it is authenticated, so the limit is loose.
        "RATELIMIT_INBOUND": os.environ.get("RATELIMIT_INBOUND", "600 per minute"),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # `json`: one JSON object per line with request id, user id and ticket (production).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        # /metrics answers callers from these networks, or with this bearer token.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        "METRICS_ALLOWED_NETWORKS": os.environ.get("METRICS_ALLOWED_NETWORKS",
                                                   "127.0.0.0/8,::1"),
        # Key for secrets we must read back (IMAP passwords, webhook signing secrets);
        # derived from SECRET_KEY when unset. Rotating it means re-entering those secrets.
        "ENCRYPTION_KEY": os.environ.get("ENCRYPTION_KEY") or None,
        # Browser origins allowed to embed the chat widget (comma-separated).
        "CHAT_ALLOWED_ORIGINS": _list("CHAT_ALLOWED_ORIGINS"),
        # Shared secret of the telephony system posting to /api/v1/inbound/call.
        "TELEPHONY_SECRET": os.environ.get("TELEPHONY_SECRET") or None,
        # Hosts or networks (CIDR) webhooks may reach although private or loopback.
        "WEBHOOK_ALLOWED_NETWORKS": _list("WEBHOOK_ALLOWED_NETWORKS"),
    }


def _console_settings() -> dict[str, Any]:
    """Console, sign-in, ticket-policy and knowledge-base settings given in the environment
    (else DEFAULTS)."""
    settings: dict[str, Any] = {}
    for name in ("CONSOLE_IDLE_MINUTES", "CONSOLE_SESSION_MAX_HOURS", "PASSWORD_RESET_MINUTES",
                 "KB_REVIEW_DAYS", "KB_ATTACHMENT_MAX_BYTES", "CHECK_TIMEOUT_SECONDS",
                 "TASK_DEFAULT_MINUTES", "REOPEN_GRACE_DAYS"):
        if os.environ.get(name):
            settings[name] = int(os.environ[name])
    for name in ("RATELIMIT_LOGIN_ACCOUNT", "RATELIMIT_LOGIN_CLIENT", "KB_SUGGEST_RATE_LIMIT"):
        if os.environ.get(name):
            settings[name] = os.environ[name]
    if os.environ.get("COMPLAINT_CATEGORIES"):
        settings["COMPLAINT_CATEGORIES"] = _list("COMPLAINT_CATEGORIES")
    return settings


def _list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": ["en", "zh_CN"],
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    # Jobs run after commit: in a background thread in embedded mode, or right away
    # (still after commit) when JOBS_EAGER is set, which tests use for determinism.
    "JOBS_EAGER": False,
    # werkzeug's scrypt (a memory-hard KDF); tests use a cheaper method to stay fast.
    "PASSWORD_HASH_METHOD": "scrypt",
    "PORTAL_LINK_MAX_AGE_DAYS": 90,
    # Console sessions end after this long without a request, and in any case after
    # CONSOLE_SESSION_MAX_HOURS; a password-reset link is good for PASSWORD_RESET_MINUTES.
    "CONSOLE_IDLE_MINUTES": 240,
    "CONSOLE_SESSION_MAX_HOURS": 12,
    "PASSWORD_RESET_MINUTES": 60,
    # Redis down must not turn every rate-limited route into a 500: count in memory meanwhile.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    # Failed sign-ins allowed per account and per client address before a wait.
    "RATELIMIT_LOGIN_ACCOUNT": "5 per 15 minutes",
    "RATELIMIT_LOGIN_CLIENT": "20 per 15 minutes",
    "ACK_RATE_LIMIT_PER_HOUR": 10,
    "SLA_SWEEP_BATCH": 1000,
    # Channels. Attachments over the limit are not stored (the message and its raw
    # original are); the inbound endpoint accepts whole messages up to its own limit.
    "ATTACHMENT_MAX_BYTES": 8 * 1024 * 1024,
    "INBOUND_EMAIL_MAX_BYTES": 40 * 1024 * 1024,
    "IMAP_BATCH": 50,  # messages per poll of one mailbox; the rest wait for the next
    "IMAP_TIMEOUT_SECONDS": 30,
    "CHAT_AGENT_WAIT_SECONDS": 180,
    "CHAT_POLL_INTERVAL_SECONDS": 3,
    # One open widget polls about 20 times a minute; room for a few visitors behind one NAT.
    "CHAT_RATELIMIT_POLL": "120 per minute",
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_DISABLE_AFTER_FAILURES": 10,
    # Closed loop. A department without its own turnaround gets this (business minutes on
    # the default calendar). A customer's reply within REOPEN_GRACE_DAYS of closing reopens
    # the ticket; later it opens a new ticket linked to the old one.
    "TASK_DEFAULT_MINUTES": 24 * 60,
    "REOPEN_GRACE_DAYS": 7,
    # Ticket categories that count as complaints (account health, reports).
    "COMPLAINT_CATEGORIES": ["complaint", "投诉"],
    # Knowledge base: a published article's review date when none is set (days after
    # publishing); suggestions are asked for while a customer types (a higher public limit);
    # an article's files (images) are at most this large.
    "KB_REVIEW_DAYS": 180,
    "KB_SUGGEST_RATE_LIMIT": "120 per minute;2000 per hour",
    "KB_ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
    # How long `flask check` waits for Redis and the SMTP server.
    "CHECK_TIMEOUT_SECONDS": 5,
    # A confirmation link in a mail ("fixed" / "still a problem") is refused after this long.
    "CONFIRMATION_LINK_MAX_AGE_DAYS": 30,
    # Customer portal: a sign-in link works once within PORTAL_SIGN_IN_MINUTES; a portal
    # session lasts PORTAL_SESSION_HOURS; sign-in links are rate-limited per address and
    # per client.
    "PORTAL_SIGN_IN_MINUTES": 30,
    "PORTAL_SESSION_HOURS": 72,
    "RATELIMIT_PORTAL_LINK_ADDRESS": "3 per 15 minutes;10 per day",
    "RATELIMIT_PORTAL_LINK_CLIENT": "10 per 15 minutes",
}
