"""Demo survey history: eight weeks of CSAT and NPS answers made through the real services,
so the dashboard has trends, a recovery follow-up waits for the lead, opportunities wait
in the sales inbox, and one survey link is left open to try."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from service.db_types import utcnow
from service.directory.models import Contact
from service.extensions import db
from service.notify.models import OutboundMail
from surveys import answering, sending
from surveys.invitations import Snapshot, create_invitation
from surveys.models import InvitationStatus, InvitationTrigger, SurveyKind, SurveyResponse

DEMO_UA = "demo browser"
# (contact email, kind, days ago, score, comment): at most one survey per contact per
# fatigue window (30 days), as the product itself enforces.
_ANSWERS = [
    ("ops@northwind.example", SurveyKind.NPS, 52, 9, "Fast answers, friendly people."),
    ("it@huaxia-logistics.example", SurveyKind.CSAT, 50, 5, "处理得很快，谢谢！"),
    ("finance@contoso.example", SurveyKind.CSAT, 47, 4, None),
    ("data@jinghua.example", SurveyKind.NPS, 45, 7, "报表还可以更快一些。"),
    ("bi@northwind.example", SurveyKind.CSAT, 41, 3, "Took two days to get an answer."),
    ("warehouse@huaxia-logistics.example", SurveyKind.NPS, 38, 10,
     "扫码枪问题解决得很好，我们还想给新仓库增加账号。"),
    ("mobile@contoso.example", SurveyKind.CSAT, 34, 2, "The crash is still not fixed."),
    ("legal@contoso.example", SurveyKind.NPS, 31, 6, "Too many releases break things."),
    ("ops@northwind.example", SurveyKind.CSAT, 20, 5, None),
    ("it@huaxia-logistics.example", SurveyKind.NPS, 17, 9, "服务很专业。"),
    ("finance@contoso.example", SurveyKind.NPS, 13, 8, None),
    ("data@jinghua.example", SurveyKind.CSAT, 10, 4, "导出问题解决了。"),
    ("bi@northwind.example", SurveyKind.NPS, 6, 10,
     "Great team. We will need more seats for the BI rollout next quarter."),
    ("hr@contoso.example", SurveyKind.CSAT, 2, 1, "Nobody answered my question about seats."),
]
TRY_CONTACT = "dev@northwind.example"
_LINK = re.compile(r"(https?://\S+/s/[A-Za-z0-9_-]{43})")


def load_demo_surveys() -> str | None:
    """Answer the demo surveys once; returns an open survey link to try (or None)."""
    if db.session.scalar(select(func.count()).select_from(SurveyResponse)):
        return None
    now = utcnow()
    for email, kind, days_ago, score, comment in _ANSWERS:
        _answered(email, kind, now - timedelta(days=days_ago), score, comment)
    return _link_to_try(now)


def _contact(email: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.email == email))


def _answered(email: str, kind: SurveyKind, at: datetime, score: int,
              comment: str | None) -> None:
    contact = _contact(email)
    if contact is None:
        return
    trigger = InvitationTrigger.NPS_SCHEDULE if kind == SurveyKind.NPS \
        else InvitationTrigger.CAMPAIGN
    invitation = create_invitation(kind, trigger, contact.id, send_at=at, now=at,
                                   snapshot=Snapshot(language=contact.language))
    db.session.commit()
    if sending.send_invitation(invitation.id, now=at) != InvitationStatus.SENT:
        return
    details = None
    if kind == SurveyKind.CSAT:
        details = answering.Details(attitude=min(5, score + 1), efficiency=score,
                                    outcome=score, comment=comment)
    elif comment:
        details = answering.Details(comment=comment)
    answering.record_answer(invitation, answering.Answer(score, details), ip="198.51.100.7",
                            user_agent=DEMO_UA, now=at + timedelta(hours=2))
    db.session.commit()


def _link_to_try(now: datetime) -> str | None:
    """An NPS survey sent now to a contact not asked lately: its link, from the dev mailbox."""
    contact = _contact(TRY_CONTACT)
    if contact is None:
        return None
    invitation = create_invitation(SurveyKind.NPS, InvitationTrigger.NPS_SCHEDULE, contact.id,
                                   send_at=now, now=now)
    db.session.commit()
    if sending.send_invitation(invitation.id, now=now) != InvitationStatus.SENT:
        return None
    body = db.session.scalar(select(OutboundMail.body_text).where(
        OutboundMail.dedupe_key == sending.dedupe_key(invitation.id)))
    found = _LINK.search(body or "")
    return found.group(1) if found else None
