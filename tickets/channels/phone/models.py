"""Call logs: every phone call we know of, logged by an agent or reported by telephony."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime, str_enum, utcnow
from service.extensions import db


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"    # the customer called us
    OUTBOUND = "outbound"  # we called the customer


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


class CallSource(enum.StrEnum):
    STAFF = "staff"          # an agent logged it (logged_by_id says who)
    TELEPHONY = "telephony"  # the telephony system reported it (external_call_id)


class CallEffect(enum.StrEnum):
    """What the call did to tickets: kept so a replayed report answers the same."""
    TICKET_CREATED = "ticket_created"
    TICKET_UPDATED = "ticket_updated"
    RECORDED = "recorded"  # an answered call with no open ticket: kept, nothing opened


class CallLog(db.Model):
    """One phone call: who called whom, when, for how long, how it ended.

    Numbers are stored normalised (digits with a leading '+'). For an inbound call the
    customer is the caller, for an outbound one the callee (`customer_number`).
    """

    __tablename__ = "call_logs"
    __table_args__ = (Index("ix_call_logs_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None only for an answered call reported by telephony when no ticket was open.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    # The message that shows the call in the ticket's conversation.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    direction: Mapped[CallDirection] = mapped_column(str_enum(CallDirection, "call_direction"))
    caller_number: Mapped[str | None] = mapped_column(String(40))
    callee_number: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[CallOutcome] = mapped_column(str_enum(CallOutcome, "call_outcome"))
    # A reference (id or URL) in the telephony system; shown to staff, never fetched.
    recording_ref: Mapped[str | None] = mapped_column(String(500))
    voicemail_transcript: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[CallSource] = mapped_column(str_enum(CallSource, "call_source"))
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The telephony system's call id: unique, so a retried report is processed once.
    external_call_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    effect: Mapped[CallEffect] = mapped_column(str_enum(CallEffect, "call_effect"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def customer_number(self) -> str | None:
        """The customer's end of the call."""
        return self.caller_number if self.direction == CallDirection.INBOUND \
            else self.callee_number
