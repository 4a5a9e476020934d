"""Opportunities on PostgreSQL: two workers recording the same (account, kind) at once end
with one opportunity, and a real `rq worker` delivers the opportunity.created webhook."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from service.db_types import utcnow
from service.extensions import db
from surveys.models import Opportunity, OpportunityEvidence
from surveys.opportunities import services
from tests.integration.conftest import wait_until
from tests.service.test_webhooks import running_receiver, verify_signature
from tests.surveys.test_opportunities import make_account, signal

pytestmark = pytest.mark.integration


def _blocked_on_a_lock() -> bool:
    """Whether another session of this database waits for a row or index lock."""
    waiting = db.session.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"))
    db.session.rollback()  # the statistics are a snapshot per transaction: take a new one
    return bool(waiting)


def test_the_loser_of_a_creation_race_adds_its_evidence(pg_app, make_user):
    make_user("sales")
    account = make_account("Race Co")
    first_recorded, release = threading.Event(), threading.Event()

    def first() -> int:
        with pg_app.app_context():
            opportunity = services.record(signal(account, ref_id=1))
            first_recorded.set()
            release.wait(timeout=30)
            db.session.commit()
            return opportunity.id

    def second() -> int:
        first_recorded.wait(timeout=30)
        with pg_app.app_context():
            # Sees no committed row, inserts, and waits on the unique index until the first
            # commits; then it must fall back to adding evidence.
            opportunity = services.record(signal(account, ref_id=2, rule="higher_limits_en"))
            db.session.commit()
            return opportunity.id

    with ThreadPoolExecutor(max_workers=2) as pool:
        winner, loser = pool.submit(first), pool.submit(second)
        wait_until(_blocked_on_a_lock, timeout=15, message="the second insert to wait")
        release.set()
        assert winner.result(timeout=30) == loser.result(timeout=30)
    assert db.session.scalar(select(func.count()).select_from(Opportunity)) == 1
    refs = db.session.scalars(select(OpportunityEvidence.ref_id)).all()
    assert sorted(refs) == [1, 2]


def test_many_at_once_make_one(pg_app, make_user):
    make_user("sales")
    account = make_account("Crowd Co")
    start = threading.Barrier(4)

    def record(ref_id: int) -> int:
        with pg_app.app_context():
            start.wait(timeout=30)
            opportunity = services.record(signal(account, ref_id=ref_id), now=utcnow())
            db.session.commit()
            return opportunity.id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(record, range(1, 5)))
    assert len(ids) == 1
    assert db.session.scalar(select(func.count()).select_from(OpportunityEvidence)) == 4


@pytest.fixture
def stack(make_stack, redis_url, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    return make_stack(redis_url, WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"])


def test_a_real_worker_delivers_opportunity_created(stack, make_user, auth):
    client = stack.app.test_client()
    headers = auth(make_user("admin"))
    rep = make_user("sales")
    with running_receiver() as receiver:
        hook = client.post("/api/v1/admin/webhooks", headers=headers, json={
            "url": receiver.url(), "events": ["opportunity.created", "opportunity.updated"]})
        assert hook.status_code == 201, hook.json
        opportunity = services.record(signal(make_account("Hook Co", owner=rep)))
        db.session.commit()
        assert receiver.received() == []  # the web process never sends
        stack.run_burst_worker(queues=("webhooks", "mail", "default"))
        [request] = receiver.received()
    body = verify_signature(request, hook.json["secret"])
    assert body["event"] == "opportunity.created"
    data = body["data"]
    assert data["id"] == opportunity.id and data["owner"]["id"] == rep.id
    assert data["account"]["name"] == "Hook Co" and data["status"] == "new"
    assert data["evidence"][0]["rule"] == "more_seats_en"


def test_the_pool_sweep_on_postgresql(pg_app, make_user, make_team):
    from datetime import timedelta

    from service.notify.models import Notification

    lead = make_user("lead")
    rep = make_user("sales", team=make_team("Sales", lead=lead))
    opportunity = services.record(signal(make_account("Sweep Co", owner=rep)), now=utcnow())
    db.session.commit()
    assert services.return_untouched(now=utcnow() + timedelta(hours=25)) == 1
    db.session.refresh(opportunity)
    assert opportunity.owner_id is None and opportunity.returned_by_id == rep.id
    notice = db.session.scalar(select(Notification).where(
        Notification.kind == "opportunity_returned"))
    assert notice.user_id == lead.id
