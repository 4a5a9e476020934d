"""Reactions to survey answers: open (or settle) service-recovery follow-ups."""
from __future__ import annotations

from service import events
from surveys import panels  # noqa: F401  (registers the survey panels at import)
from surveys.recovery import sentences

sentences.register()


@events.survey_answered.connect
def _answered(response_id: int, **_data) -> None:
    """A low answer opens a follow-up; a re-survey's answer says whether it was won back."""
    from surveys.recovery.services import handle_answer

    handle_answer(response_id)
