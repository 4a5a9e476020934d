"""The surveys domain's part of a customer export and erasure (see service/privacy).

Export: invitations (never their tokens), answers, the opt-out, recovery follow-ups,
opportunities and revisits about the contact. Erase: comments, addresses and staff notes
blanked, scores and counts kept, so CSAT, NPS and response rates do not move; the erased
contact is opted out so no survey is ever mailed to the placeholder address.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update

from service.extensions import db
from service.privacy.registry import (changed_rows, iso, personal_strings, register,
                                      scrub_columns)
from surveys.models import (EvidenceKind, Invitation, Opportunity, OpportunityEvidence,
                            RecoveryFollowUp, Revisit, SurveyOptOut, SurveyResponse)

OPT_OUT_SOURCE = "erasure"


def export_contact(contact_id: int) -> dict[str, Any]:
    """The contact's survey data as JSON-ready values (no tokens or their hashes)."""
    opt_out = db.session.get(SurveyOptOut, contact_id)
    return {
        "invitations": [
            {"id": row.id, "kind": row.kind.value, "trigger": row.trigger.value,
             "status": row.status.value, "skip_reason": row.skip_reason,
             "ticket_id": row.ticket_id, "sent_at": iso(row.sent_at),
             "expires_at": iso(row.expires_at), "opened_at": iso(row.opened_at),
             "answered_at": iso(row.answered_at)}
            for row in db.session.scalars(select(Invitation).where(
                Invitation.contact_id == contact_id).order_by(Invitation.id))],
        "responses": [
            {"invitation_id": row.invitation_id, "kind": row.kind.value,
             "score": row.score, "attitude": row.attitude, "efficiency": row.efficiency,
             "outcome": row.outcome, "comment": row.comment, "ip": row.ip,
             "user_agent": row.user_agent, "ticket_id": row.ticket_id,
             "created_at": iso(row.created_at), "updated_at": iso(row.updated_at)}
            for row in db.session.scalars(select(SurveyResponse).where(
                SurveyResponse.contact_id == contact_id).order_by(SurveyResponse.id))],
        "survey_opt_out": ({"source": opt_out.source, "created_at": iso(opt_out.created_at)}
                           if opt_out else None),
        "recovery_follow_ups": [
            {"kind": row.kind.value, "score": row.score, "status": row.status.value,
             "outcome": row.outcome.value if row.outcome else None, "note": row.note,
             "created_at": iso(row.created_at), "closed_at": iso(row.closed_at)}
            for row in db.session.scalars(select(RecoveryFollowUp).where(
                RecoveryFollowUp.contact_id == contact_id).order_by(RecoveryFollowUp.id))],
        "opportunities": [
            {"kind": row.kind.value, "source": row.source.value, "status": row.status.value,
             "reason": row.reason, "created_at": iso(row.created_at),
             "closed_at": iso(row.closed_at)}
            for row in db.session.scalars(select(Opportunity).where(
                Opportunity.contact_id == contact_id).order_by(Opportunity.id))],
        "revisits": [
            {"status": row.status.value, "due_at": iso(row.due_at), "notes": row.notes,
             "satisfaction": row.satisfaction, "done_at": iso(row.done_at)}
            for row in db.session.scalars(select(Revisit).where(
                Revisit.contact_id == contact_id).order_by(Revisit.id))],
    }


def erase_contact(contact_id: int, token: str) -> dict[str, int]:
    """Blank the contact's comments and notes; scores, statuses and times stay."""
    needles = personal_strings(contact_id)
    responses = select(SurveyResponse.id).where(SurveyResponse.contact_id == contact_id)
    opportunities = select(Opportunity.id).where(Opportunity.contact_id == contact_id)
    counts = {
        "survey_responses": changed_rows(update(SurveyResponse).where(
            SurveyResponse.contact_id == contact_id,
            or_(SurveyResponse.comment.is_not(None), SurveyResponse.ip.is_not(None),
                SurveyResponse.user_agent.is_not(None)))
            .values(comment=None, ip=None, user_agent=None)),
        # The links stop working: nobody can answer (or read) in the contact's name.
        "survey_invitations": changed_rows(update(Invitation).where(
            Invitation.contact_id == contact_id, Invitation.token_hash.is_not(None))
            .values(token_hash=None)),
        "recovery_follow_ups": changed_rows(update(RecoveryFollowUp).where(
            RecoveryFollowUp.contact_id == contact_id, RecoveryFollowUp.note.is_not(None))
            .values(note=None)),
        "opportunity_evidence": changed_rows(update(OpportunityEvidence).where(
            or_(OpportunityEvidence.opportunity_id.in_(opportunities),
                (OpportunityEvidence.kind == EvidenceKind.SURVEY_RESPONSE)
                & OpportunityEvidence.ref_id.in_(responses)),
            OpportunityEvidence.excerpt.is_not(None))
            .values(excerpt=None)),
        "opportunities": scrub_columns(Opportunity, ("reason", "lost_reason"),
                                       Opportunity.contact_id == contact_id, needles),
        "revisits": scrub_columns(Revisit, ("notes",), Revisit.contact_id == contact_id,
                                  needles),
        "survey_opt_out": _opt_out(contact_id),
    }
    return counts


def _opt_out(contact_id: int) -> int:
    """Never invite the erased contact again (their address is a placeholder now)."""
    if db.session.get(SurveyOptOut, contact_id) is not None:
        return 0
    db.session.add(SurveyOptOut(contact_id=contact_id, source=OPT_OUT_SOURCE))
    db.session.flush()
    return 1


register("surveys", export_contact, erase_contact)
