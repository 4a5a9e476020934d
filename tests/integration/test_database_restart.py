"""PostgreSQL connections survive the server dropping them (pre-ping)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL, PG_TEST_DB

pytestmark = pytest.mark.integration


def terminate_test_connections() -> int:
    """What a database restart does to the pool: every server-side session ends."""
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": PG_TEST_DB}).scalar()
    admin.dispose()
    return killed


def test_requests_after_connections_were_dropped_succeed(pg_app, auth, make_user, support_team,
                                                        ticket_body):
    from service.extensions import db

    headers = auth(make_user("agent", team=support_team))
    client = pg_app.test_client()
    assert client.post("/api/v1/tickets", json=ticket_body(), headers=headers).status_code == 201
    db.session.remove()  # the request is over: its connection went back to the pool
    assert terminate_test_connections() >= 1
    response = client.get("/api/v1/tickets", headers=headers)
    assert response.status_code == 200
    assert len(response.json["items"]) == 1
    assert client.get("/readyz").json["checks"]["database"] == "ok"
