"""Background entry points of the chat channel."""
from __future__ import annotations

from service.db_types import utcnow
from service.jobs import job


@job(queue="sweeps")
def sweep_chat_handoffs() -> None:
    """Hand to email the chats whose visitor waited too long (also those who left)."""
    from tickets.channels.chat.services import hand_off_abandoned

    hand_off_abandoned(utcnow())
