"""Wiring the operations layer into the app: request ids, log lines, metrics."""
from __future__ import annotations

from flask import Flask, request_finished
from werkzeug.wrappers import Response

from service.ops.log_format import configure_logging, log_access
from service.ops.metrics import install_metrics, observe_request
from service.ops.request_ids import elapsed_ms, install_request_ids


def install(app: Flask) -> None:
    """Give every request an id, an access line and a latency sample (once per app)."""
    if app.extensions.get("loopdesk_ops"):
        return
    app.extensions["loopdesk_ops"] = True
    install_request_ids(app)
    configure_logging(app)
    install_metrics(app)
    request_finished.connect(_finished, app, weak=False)


def _finished(_sender: Flask, response: Response, **_extra) -> None:
    # request_finished comes after every after_request hook, with the final status, and
    # for unhandled errors too (their 500 page goes through the same finalisation).
    milliseconds = elapsed_ms()
    observe_request(response.status_code, None if milliseconds is None
                    else milliseconds / 1000)
    log_access(response.status_code)
