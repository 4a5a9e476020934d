"""The opportunity rules end to end: each of the five rules builds the right Signal (kind,
source, evidence, phrase), the negative cases build none, and the real listeners hand the
signals to the opportunities service (one open opportunity per account and kind)."""
from __future__ import annotations

from datetime import timedelta
from itertools import count

from sqlalchemy import select

from service.db_types import utcnow
from service.directory.models import Account, AccountProduct, Contact, Tier
from service.extensions import db
from surveys.answering import Answer, Details, record_answer
from surveys.models import (EvidenceKind, Invitation, InvitationStatus, InvitationTrigger,
                            Opportunity, OpportunityEvidence, OpportunityKind,
                            OpportunitySource, SurveyKind)
from surveys.signals import evaluate, ticket_rules
from tickets import conversation, facts, lifecycle
from tickets.models import Channel, Status, Visibility

_numbers = count(1)


def make_account(tier: Tier = Tier.STANDARD, products: tuple[str, ...] = (),
                 sales_owner=None) -> Account:
    account = Account(name=f"Account {next(_numbers)}", tier=tier,
                      sales_owner_id=sales_owner.id if sales_owner else None)
    account.products = [AccountProduct(product=name) for name in products]
    db.session.add(account)
    db.session.commit()
    return account


def make_contact(account: Account | None = None) -> Contact:
    contact = Contact(email=f"buyer{next(_numbers)}@customer.test", name="Pat Buyer",
                      account_id=account.id if account else None)
    db.session.add(contact)
    db.session.commit()
    return contact


def answer(contact: Contact, kind: SurveyKind, score: int, comment: str | None = None,
           invitation: Invitation | None = None):
    """A survey answered through surveys.answering (its event, our listener, the job)."""
    now = utcnow()
    if invitation is None:
        invitation = Invitation(
            kind=kind, trigger=InvitationTrigger.NPS_SCHEDULE, status=InvitationStatus.SENT,
            contact_id=contact.id, account_id=contact.account_id, send_at=now, sent_at=now,
            expires_at=now + timedelta(days=30), created_at=now)
        db.session.add(invitation)
        db.session.commit()
    details = Details(comment=comment) if comment is not None else None
    response = record_answer(invitation, Answer(score, details), ip=None, user_agent=None)
    db.session.commit()
    return response


def opportunities(**where) -> list[Opportunity]:
    query = select(Opportunity).order_by(Opportunity.id)
    for name, value in where.items():
        query = query.where(getattr(Opportunity, name) == value)
    return list(db.session.scalars(query))


def evidence_of(opportunity: Opportunity) -> list[tuple]:
    rows = db.session.scalars(select(OpportunityEvidence).where(
        OpportunityEvidence.opportunity_id == opportunity.id).order_by(OpportunityEvidence.id))
    return [(row.kind, row.ref_id, row.rule, row.phrase) for row in rows]


# ---- rules 1–3 on survey answers ----

def test_a_promoter_is_a_referral(app):
    contact = make_contact(make_account())
    response = answer(contact, SurveyKind.NPS, 9, "Great support team")
    [signal] = evaluate.for_response(response.id)
    assert (signal.kind, signal.source) == (OpportunityKind.REFERRAL,
                                            OpportunitySource.NPS_PROMOTER)
    assert signal.reason == 'NPS promoter: the customer scored 9 of 10 and wrote: ' \
                            '"Great support team"'
    assert [(item.kind, item.ref_id, item.rule) for item in signal.evidence] == [
        (EvidenceKind.SURVEY_RESPONSE, response.id, "nps_promoter")]
    [opportunity] = opportunities(account_id=contact.account_id)
    assert (opportunity.kind, opportunity.source) == (OpportunityKind.REFERRAL,
                                                      OpportunitySource.NPS_PROMOTER)
    assert evidence_of(opportunity) == [(EvidenceKind.SURVEY_RESPONSE, response.id,
                                         "nps_promoter", None)]


def test_a_detractor_is_a_churn_risk_with_source_csat(app):
    contact = make_contact(make_account())
    response = answer(contact, SurveyKind.NPS, 3)
    [opportunity] = opportunities(account_id=contact.account_id)
    assert (opportunity.kind, opportunity.source) == (OpportunityKind.CHURN_RISK,
                                                      OpportunitySource.CSAT)
    assert evidence_of(opportunity) == [(EvidenceKind.SURVEY_RESPONSE, response.id,
                                         "nps_detractor", None)]
    assert "NPS detractor: the customer scored 3 of 10" in opportunity.reason


def test_passives_and_plain_comments_warrant_nothing(app):
    for kind, score, comment in [
            (SurveyKind.NPS, 7, None), (SurveyKind.NPS, 8, "Fine, we don't need more seats."),
            (SurveyKind.CSAT, 5, "Quick and friendly"), (SurveyKind.CSAT, 1, "不需要增加账号"),
            (SurveyKind.CSAT, 2, "   ")]:
        response = answer(make_contact(make_account()), kind, score, comment)
        assert evaluate.for_response(response.id) == [], (kind, score, comment)
    assert evaluate.for_response(999999) == []
    assert opportunities() == []


def test_a_promoter_asking_for_more_seats_makes_two_opportunities(app, make_user):
    rep = make_user("sales")
    account = make_account(sales_owner=rep)
    response = answer(make_contact(account), SurveyKind.NPS, 10,
                      "Love it. We need 20 more seats next month.")
    referral, upsell = opportunities(account_id=account.id)
    assert (referral.kind, upsell.kind) == (OpportunityKind.REFERRAL, OpportunityKind.UPSELL)
    assert upsell.source == OpportunitySource.NPS_PROMOTER
    assert upsell.owner_id == rep.id and referral.owner_id == rep.id
    assert evidence_of(upsell) == [(EvidenceKind.SURVEY_RESPONSE, response.id,
                                    "more_seats_en", "more seats")]
    assert upsell.reason.startswith(
        'Customer asked for more seats: "We need 20 more seats next month."')


def test_a_csat_comment_matching_a_rule_has_source_csat(app):
    account = make_account()
    response = answer(make_contact(account), SurveyKind.CSAT, 4, "我们下个月需要扩容。")
    [opportunity] = opportunities(account_id=account.id)
    assert (opportunity.kind, opportunity.source) == (OpportunityKind.UPSELL,
                                                      OpportunitySource.CSAT)
    [row] = db.session.scalars(select(OpportunityEvidence))
    assert (row.ref_id, row.rule, row.phrase, row.excerpt) == (
        response.id, "higher_limits_zh", "扩容", "我们下个月需要扩容。")


def test_an_edited_answer_adds_what_is_new_and_never_duplicates(app):
    account = make_account()
    contact = make_contact(account)
    response = answer(contact, SurveyKind.NPS, 9)  # the one-click score
    invitation = db.session.get(Invitation, response.invitation_id)
    answer(contact, SurveyKind.NPS, 9, "We want the enterprise plan", invitation=invitation)
    answer(contact, SurveyKind.NPS, 10, "We want the enterprise plan", invitation=invitation)
    referral, upsell = opportunities(account_id=account.id)
    assert len(evidence_of(referral)) == 1
    assert evidence_of(upsell) == [(EvidenceKind.SURVEY_RESPONSE, response.id,
                                    "higher_plan_en", "enterprise plan")]


# ---- rule 3 on ticket messages ----

def test_a_customer_message_asking_for_more_seats(app, make_ticket, make_user):
    rep = make_user("sales")
    account = make_account(sales_owner=rep)
    contact = make_contact(account)
    ticket = make_ticket(customer_email=contact.email, subject="Login question")
    message = conversation.add_customer_message(
        ticket, contact.id, "Thanks! Also, we need 20 more seats for the new team.",
        Channel.EMAIL, utcnow())
    db.session.commit()
    [opportunity] = opportunities(account_id=account.id)
    assert (opportunity.kind, opportunity.source, opportunity.owner_id) == (
        OpportunityKind.UPSELL, OpportunitySource.TICKET_SIGNAL, rep.id)
    assert evidence_of(opportunity) == [(EvidenceKind.MESSAGE, message.id, "more_seats_en",
                                         "more seats")]
    assert 'Customer asked for more seats: "Also, we need 20 more seats for the new team."' \
        in opportunity.reason
    # The same words again add nothing; another message is more evidence on the same one.
    again = conversation.add_customer_message(ticket, contact.id, "更多席位，谢谢",
                                              Channel.EMAIL, utcnow())
    db.session.commit()
    assert [row[:3] for row in evidence_of(opportunity)] == [
        (EvidenceKind.MESSAGE, message.id, "more_seats_en"),
        (EvidenceKind.MESSAGE, again.id, "more_seats_zh")]
    assert len(opportunities()) == 1


def test_staff_words_notes_and_negations_warrant_nothing(app, make_ticket, make_user):
    agent = make_user("agent")
    contact = make_contact(make_account())
    ticket = make_ticket(customer_email=contact.email)
    reply = conversation.add_staff_message(ticket, agent, "Do you need more seats?",
                                           Visibility.PUBLIC, utcnow())
    note = conversation.add_staff_message(ticket, agent, "They may want more seats",
                                          Visibility.INTERNAL, utcnow())
    said = conversation.add_customer_message(ticket, contact.id, "We don't need more seats.",
                                             Channel.EMAIL, utcnow())
    db.session.commit()
    assert [evaluate.for_message(m.id) for m in (reply, note, said)] == [[], [], []]
    assert evaluate.for_message(999999) == []
    assert opportunities() == []


def test_cross_sell_only_for_a_product_the_account_does_not_own(app, make_ticket):
    without = make_contact(make_account(products=("Helpdesk",)))
    owner = make_contact(make_account(products=("cloud backup",)))
    for contact in (without, owner):
        ticket = make_ticket(customer_email=contact.email, subject="Question")
        conversation.add_customer_message(ticket, contact.id, "Do you offer backup for "
                                          "our files?", Channel.PORTAL, utcnow())
        db.session.commit()
    [opportunity] = opportunities()
    assert (opportunity.account_id, opportunity.kind, opportunity.suggested_products) == (
        without.account_id, OpportunityKind.CROSS_SELL, ["Cloud Backup"])


def test_a_new_tickets_subject_and_first_message_are_read(app, make_ticket):
    account = make_account()
    contact = make_contact(account)
    ticket = make_ticket(customer_email=contact.email, subject="Need more seats",
                         description="你好，我们需要增加账号。另外想了解报表分析。")
    [upsell, cross_sell] = sorted(ticket_rules.for_new_ticket(ticket.id),
                                  key=lambda signal: signal.kind != OpportunityKind.UPSELL)
    first = facts.first_message_facts(ticket.id)
    assert [(item.kind, item.ref_id, item.rule, item.phrase) for item in upsell.evidence] == [
        (EvidenceKind.TICKET, ticket.id, "more_seats_en", "more seats"),
        (EvidenceKind.MESSAGE, first.id, "more_seats_zh", "增加账号")]
    assert cross_sell.suggested_products == ("Analytics",)
    assert {opportunity.kind for opportunity in opportunities(account_id=account.id)} == {
        OpportunityKind.UPSELL, OpportunityKind.CROSS_SELL}


# ---- rules 4 and 5 on tickets ----

def test_repeated_problems_within_the_window_are_a_churn_risk(app, make_ticket):
    account = make_account()
    contact = make_contact(account)
    old = make_ticket(customer_email=contact.email)
    old.created_at = utcnow() - timedelta(days=31)  # outside the 30-day window
    db.session.commit()
    first = make_ticket(customer_email=contact.email)
    assert ticket_rules.repeated_problems(facts.ticket_facts(first.id)) is None
    make_ticket(customer_email=contact.email)
    assert opportunities() == []
    third = make_ticket(customer_email=contact.email, subject="Broken again")
    [opportunity] = opportunities(account_id=account.id)
    assert (opportunity.kind, opportunity.source) == (OpportunityKind.CHURN_RISK,
                                                      OpportunitySource.TICKET_SIGNAL)
    assert evidence_of(opportunity) == [(EvidenceKind.TICKET, third.id, "repeated_problems",
                                         "3 tickets in 30 days")]
    assert "3 tickets in 30 days (threshold 3)" in opportunity.reason
    fourth = make_ticket(customer_email=contact.email)
    assert [row[1] for row in evidence_of(opportunity)] == [third.id, fourth.id]


def test_repeated_problems_of_a_contact_without_account(app, make_ticket):
    email = "solo@nowhere.test"
    tickets = [make_ticket(customer_email=email) for _ in range(3)]
    [opportunity] = opportunities()
    assert opportunity.account_id is None and opportunity.kind == OpportunityKind.CHURN_RISK
    assert opportunity.contact_id == tickets[0].contact_id


def _reopen(ticket) -> None:
    now = utcnow()
    lifecycle.change_status(ticket, Status.OPEN, actor=None, now=now)
    lifecycle.change_status(ticket, Status.RESOLVED, actor=None, now=now)
    lifecycle.change_status(ticket, Status.REOPENED, actor=None, now=now)
    db.session.commit()


def test_a_reopened_vip_ticket_is_a_churn_risk(app, make_ticket):
    vip = make_contact(make_account(Tier.VIP))
    standard = make_contact(make_account())
    vip_ticket = make_ticket(customer_email=vip.email, subject="Export fails")
    standard_ticket = make_ticket(customer_email=standard.email)
    _reopen(vip_ticket)
    _reopen(standard_ticket)
    [opportunity] = opportunities()
    assert (opportunity.account_id, opportunity.kind, opportunity.source) == (
        vip.account_id, OpportunityKind.CHURN_RISK, OpportunitySource.TICKET_SIGNAL)
    assert evidence_of(opportunity) == [(EvidenceKind.TICKET, vip_ticket.id, "reopened_vip",
                                         "reopened")]
    assert 'reopened ticket' in opportunity.reason and '"Export fails"' in opportunity.reason
    assert ticket_rules.for_reopened_ticket(standard_ticket.id) == []
    assert ticket_rules.for_reopened_ticket(999999) == []


def test_seeding_and_a_message_signal_on_postgresql(pg_app, make_ticket):
    from surveys.models import SignalRule
    from surveys.signals import rules
    from surveys.signals.builtin import BUILTIN_RULES

    # Another process seeded one built-in rule first: the rest are added, none twice.
    first = BUILTIN_RULES[0]
    db.session.add(SignalRule(key=first.key, name=first.name, kind=first.kind,
                              language=first.language, phrases=list(first.phrases),
                              built_in=True))
    db.session.commit()
    assert len(rules.list_rules()) == len(BUILTIN_RULES)
    db.session.commit()
    account = make_account()
    contact = make_contact(account)
    ticket = make_ticket(customer_email=contact.email, subject="Hello")
    message = conversation.add_customer_message(ticket, contact.id, "我们想升级套餐",
                                                Channel.EMAIL, utcnow())
    db.session.commit()
    [opportunity] = opportunities(account_id=account.id)
    assert evidence_of(opportunity) == [(EvidenceKind.MESSAGE, message.id, "higher_plan_zh",
                                         "升级套餐")]
