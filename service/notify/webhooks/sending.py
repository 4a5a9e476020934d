"""A webhook delivery on the wire: signed JSON POSTed to the address `safety` checked.

Body `{"id": event_id, "event", "created_at", "data"}`; headers `X-Loopdesk-Event`,
`X-Loopdesk-Delivery` (the event id, the receiver's dedupe key), `X-Loopdesk-Timestamp`
(unix seconds) and `X-Loopdesk-Signature: sha256=<hex HMAC-SHA256(secret,
f"{timestamp}.{body}")>`. Redirects are never followed. The response body is read (a few
KB at most) and thrown away: nothing a receiver says is kept or shown.
"""
from __future__ import annotations

import json
import time
from datetime import datetime
from http.client import HTTPException
from typing import Any, Iterable

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3 import exceptions as http_errors

from service.crypto import timestamped_signature
from service.notify.webhooks import safety

USER_AGENT = "Loopdesk-Webhooks/1"
RESPONSE_READ_LIMIT = 4096


def envelope(event_id: str, event: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed) for an event."""
    return json.dumps({"id": event_id, "event": event, "created_at": created_at.isoformat(),
                       "data": data}, separators=(",", ":"), ensure_ascii=False).encode()


def send(url: str, secret: str, body: bytes, event: str, event_id: str, *,
         allowed: Iterable[str], timeout: float) -> tuple[int | None, str | None]:
    """POST the body to the checked address: (HTTP status or None, our error or None)."""
    try:
        target = safety.check(url, allowed)  # again: DNS may have changed since saving
    except safety.UnsafeUrl as refusal:
        return None, str(refusal)[:300]
    timestamp = str(int(time.time()))
    headers = {"Host": target.host_header, "Content-Type": "application/json",
               "User-Agent": USER_AGENT, "X-Loopdesk-Event": event,
               "X-Loopdesk-Delivery": event_id, "X-Loopdesk-Timestamp": timestamp,
               "X-Loopdesk-Signature": timestamped_signature(secret, timestamp, body)}
    try:
        status = _post(target, body, headers, timeout)
    except http_errors.NewConnectionError:  # before the timeouts: it subclasses one
        return None, "connection failed"
    except (http_errors.TimeoutError, TimeoutError):
        return None, "timeout"
    except http_errors.SSLError:
        return None, "TLS handshake or certificate check failed"
    except http_errors.ProtocolError:
        return None, "connection closed without a response"
    except (http_errors.HTTPError, HTTPException, OSError, ValueError) as error:
        return None, f"request failed ({type(error).__name__})"
    if 200 <= status < 300:
        return status, None
    if 300 <= status < 400:
        return status, f"HTTP {status} (redirects are not followed)"
    return status, f"HTTP {status}"


def _post(target: safety.Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the pinned address (TLS still checks the URL's host name); the HTTP status."""
    options: dict[str, Any] = {}
    pool_class: type[HTTPConnectionPool] = HTTPConnectionPool
    if target.scheme == "https":
        pool_class = HTTPSConnectionPool
        options = {"server_hostname": target.host, "assert_hostname": target.host,
                   "cert_reqs": "CERT_REQUIRED"}
    pool = pool_class(target.address, target.port, timeout=Timeout(total=timeout),
                      retries=False, maxsize=1, **options)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers=headers,
                                redirect=False, retries=False, preload_content=False)
        try:
            response.read(RESPONSE_READ_LIMIT)  # let the receiver finish; never kept
        except (http_errors.HTTPError, OSError):
            pass  # the status line is what counts
        finally:
            response.close()
        return response.status
    finally:
        pool.close()
