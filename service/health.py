"""Liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from service.extensions import db, limiter

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@limiter.exempt
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
@limiter.exempt
def readyz():
    """The database (and Redis, when configured) answer; 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any driver error means "not ready"
        db.session.rollback()
        checks["database"] = f"error: {type(error).__name__}"
    if current_app.config.get("REDIS_URL"):
        from service.jobs import redis_connection

        try:
            redis_connection(current_app._get_current_object()).ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {type(error).__name__}"
    else:
        checks["redis"] = "not configured (embedded jobs)"
    ready = all(not value.startswith("error") for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
