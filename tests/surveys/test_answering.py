"""The answering service: reading a link, recording and editing answers, token security."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service import events
from service.errors import Conflict, InvalidInput
from service.extensions import db
from surveys import answering
from surveys.answering import Answer, Details, LinkState, SurveyExpired
from surveys.invitations import is_opted_out
from surveys.models import Invitation, InvitationStatus, SurveyKind, SurveyResponse
from tests.surveys.test_sending import T0, closed_ticket, invitation_of, sent_nps, sent_survey

SENT = T0 + timedelta(minutes=60)  # when sent_survey's CSAT goes out


@pytest.fixture
def answered_events():
    received: list[dict] = []

    def receive(sender, **data):
        received.append({"response_id": sender, **data})

    with events.survey_answered.connected_to(receive):
        yield received


def responses() -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyResponse))


# ---- reading links ----

@pytest.mark.parametrize("token", ["", "short", "x" * 44, "../../etc/passwd", "a" * 42 + "!",
                                   "ÄÖÜ" * 15])
def test_malformed_tokens_lead_nowhere(token):
    assert answering.read_link(token, SENT).state == LinkState.INVALID


def test_guessed_tokens_lead_nowhere(make_ticket):
    sent_survey(make_ticket)
    for _attempt in range(20):
        guess = secrets.token_urlsafe(32)
        assert answering.read_link(guess, SENT).state == LinkState.INVALID


def test_a_token_opens_its_own_invitation_only(make_ticket):
    mine, my_token = sent_survey(make_ticket)
    theirs, their_token = sent_survey(make_ticket)
    assert answering.read_link(my_token, SENT).invitation.id == mine.id
    assert answering.read_link(their_token, SENT).invitation.id == theirs.id
    answering.record_answer(answering.read_link(my_token, SENT).invitation, Answer(2),
                            ip=None, user_agent=None, now=SENT)
    db.session.commit()
    assert db.session.get(Invitation, theirs.id).status == InvitationStatus.SENT
    assert answering.read_link(their_token, SENT).response is None


def test_a_scheduled_or_skipped_invitation_has_no_working_link(make_ticket):
    invitation = invitation_of(closed_ticket(make_ticket).id)
    assert invitation.token_hash is None
    assert answering.read_link("A" * 43, SENT).state == LinkState.INVALID


def test_an_unanswered_link_expires(make_ticket):
    invitation, token = sent_survey(make_ticket)
    assert invitation.expires_at == SENT + timedelta(days=30)
    assert answering.read_link(token, invitation.expires_at - timedelta(seconds=1)).state \
        == LinkState.OPEN
    link = answering.read_link(token, invitation.expires_at)
    assert link.state == LinkState.EXPIRED and link.invitation.id == invitation.id
    with pytest.raises(SurveyExpired):
        answering.record_answer(invitation, Answer(5), ip=None, user_agent=None,
                                now=invitation.expires_at)
    db.session.rollback()
    assert responses() == 0


# ---- answering and editing ----

def test_the_first_answer_makes_a_response_with_the_invitations_snapshot(
        make_ticket, answered_events):
    invitation, token = sent_survey(make_ticket, product="Router X")
    at = SENT + timedelta(hours=3)
    response = answering.record_answer(
        invitation, Answer(4, Details(attitude=5, efficiency=3, outcome=None,
                                      comment="  Quick and kind.  ")),
        ip="203.0.113.9", user_agent="Mozilla/5.0", now=at)
    db.session.commit()
    assert (response.kind, response.score, response.attitude, response.efficiency,
            response.outcome) == (SurveyKind.CSAT, 4, 5, 3, None)
    assert response.comment == "Quick and kind."
    assert response.contact_id == invitation.contact_id
    assert response.ticket_id == invitation.ticket_id and response.product == "Router X"
    assert response.channel == invitation.channel and response.team_id == invitation.team_id
    assert response.ip == "203.0.113.9" and response.user_agent == "Mozilla/5.0"
    assert response.created_at == at and response.edit_until == at + timedelta(hours=24)
    assert invitation.status == InvitationStatus.ANSWERED and invitation.answered_at == at
    assert invitation.opened_at == at  # answered means seen, even straight from a POST
    assert answered_events == [{"response_id": response.id, "first": True, "kind": "csat",
                                "score": 4, "previous_score": None}]


def test_a_reused_link_edits_the_same_response_until_it_locks(make_ticket, answered_events):
    invitation, token = sent_survey(make_ticket)
    first = answering.record_answer(invitation, Answer(1), ip=None, user_agent=None, now=SENT)
    db.session.commit()
    later = SENT + timedelta(hours=23)
    link = answering.read_link(token, later)
    assert link.state == LinkState.OPEN and link.response.id == first.id
    answering.record_answer(link.invitation, Answer(3, Details(attitude=2, comment="ok")),
                            ip=None, user_agent=None, now=later)
    # The one-click step again: the score changes, the details stay.
    answering.record_answer(link.invitation, Answer(4), ip=None, user_agent=None, now=later)
    db.session.commit()
    assert responses() == 1
    response = db.session.get(SurveyResponse, first.id)
    assert (response.score, response.attitude, response.comment) == (4, 2, "ok")
    assert response.edit_until == SENT + timedelta(hours=24)  # from the first answer
    assert invitation.answered_at == SENT
    assert [(e["first"], e["score"], e["previous_score"]) for e in answered_events] == [
        (True, 1, None), (False, 3, 1), (False, 4, 3)]

    locked = answering.read_link(token, SENT + timedelta(hours=24))
    assert locked.state == LinkState.LOCKED and locked.response.id == first.id
    with pytest.raises(Conflict):
        answering.record_answer(invitation, Answer(5), ip=None, user_agent=None,
                                now=SENT + timedelta(hours=24))
    db.session.rollback()
    assert db.session.get(SurveyResponse, first.id).score == 4
    assert len(answered_events) == 3


def test_an_answered_survey_stays_editable_past_the_link_expiry(make_ticket):
    invitation, token = sent_survey(make_ticket)
    at = invitation.expires_at - timedelta(hours=1)
    answering.record_answer(invitation, Answer(2), ip=None, user_agent=None, now=at)
    db.session.commit()
    assert answering.read_link(token, at + timedelta(hours=2)).state == LinkState.OPEN


def test_nps_answers(make_ticket, answered_events):
    ticket = make_ticket()
    invitation, token = sent_nps(ticket.contact_id, at=SENT)
    response = answering.record_answer(invitation, Answer(0, Details(comment="Too slow")),
                                       ip=None, user_agent=None, now=SENT)
    db.session.commit()
    assert (response.kind, response.score, response.comment) == (SurveyKind.NPS, 0, "Too slow")
    assert answered_events[0]["kind"] == "nps" and answered_events[0]["score"] == 0


@pytest.mark.parametrize("kind,answer,field", [
    (SurveyKind.CSAT, Answer(0), "score"),
    (SurveyKind.CSAT, Answer(6), "score"),
    (SurveyKind.CSAT, Answer(7), "score"),
    (SurveyKind.CSAT, Answer("3"), "score"),
    (SurveyKind.CSAT, Answer(True), "score"),
    (SurveyKind.CSAT, Answer(None), "score"),
    (SurveyKind.CSAT, Answer(3, Details(attitude=6)), "attitude"),
    (SurveyKind.CSAT, Answer(3, Details(outcome=0)), "outcome"),
    (SurveyKind.CSAT, Answer(3, Details(comment="x" * 4001)), "comment"),
    (SurveyKind.CSAT, Answer(3, Details(comment=42)), "comment"),
    (SurveyKind.NPS, Answer(11), "score"),
    (SurveyKind.NPS, Answer(-1), "score"),
    (SurveyKind.NPS, Answer(9, Details(attitude=3)), "attitude"),
])
def test_bad_answers_are_refused_and_nothing_is_written(make_ticket, answered_events, kind,
                                                        answer, field):
    if kind == SurveyKind.CSAT:
        invitation, _token = sent_survey(make_ticket)
    else:
        invitation, _token = sent_nps(make_ticket().contact_id, at=SENT)
    with pytest.raises(InvalidInput) as raised:
        answering.record_answer(invitation, answer, ip=None, user_agent=None, now=SENT)
    assert field in raised.value.errors
    db.session.rollback()
    assert responses() == 0 and answered_events == []
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.SENT


def test_comments_are_trimmed_and_a_blank_one_is_none():
    answer = answering.validate_answer(SurveyKind.CSAT, Answer(3, Details(comment=" \x00 \n")))
    assert answer.details.comment is None
    long_enough = answering.validate_answer(SurveyKind.CSAT,
                                            Answer(3, Details(comment=" " + "y" * 4000 + " ")))
    assert len(long_enough.details.comment) == 4000


# ---- opened, unsubscribe ----

def test_opened_is_recorded_once(make_ticket):
    invitation, _token = sent_survey(make_ticket)
    assert answering.mark_opened(invitation, SENT + timedelta(minutes=5)) is True
    assert answering.mark_opened(invitation, SENT + timedelta(minutes=9)) is False
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).opened_at == SENT + timedelta(minutes=5)


def test_unsubscribing_stops_future_surveys(make_ticket):
    invitation, _token = sent_survey(make_ticket, email="stop@example.com")
    assert answering.unsubscribe(invitation) is True
    assert answering.unsubscribe(invitation) is False
    db.session.commit()
    assert is_opted_out(invitation.contact_id)
    later = closed_ticket(make_ticket, email="stop@example.com", at=T0 + timedelta(days=90))
    assert invitation_of(later.id).skip_reason == "unsubscribed"


# ---- two tabs at once (PostgreSQL row locks) ----

def test_two_first_answers_at_once_make_one_response(pg_app, make_ticket, answered_events):
    import threading

    invitation, _token = sent_survey(make_ticket)
    db.session.commit()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def answer(score: int) -> None:
        with pg_app.app_context():
            try:
                mine = db.session.get(Invitation, invitation.id)
                start.wait(10)
                answering.record_answer(mine, Answer(score), ip=None, user_agent=None,
                                        now=SENT)
                db.session.commit()
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer, args=(score,)) for score in (2, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert responses() == 1
    assert sorted(event["first"] for event in answered_events) == [False, True]
