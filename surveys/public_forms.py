"""The public survey pages' forms (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, Length, Optional, StopValidation

from surveys.answering import (COMMENT_MAX, CSAT_LABELS, DIMENSION_LABELS, DIMENSION_SCORES,
                               DIMENSIONS, SCORES, Answer, Details)
from surveys.models import SurveyKind

STEP_SCORE = "score"  # the one-click page: only the score, confirmed with one button
STEP_DETAILS = "details"  # the whole answer: score, dimensions, comment


class ScoreField(RadioField):
    """A row of scores; anything but one of them (7 on a 1–5 scale, "abc") is refused."""

    def __init__(self, label=None, *, scores: range, labels: dict | None = None,
                 required: bool = True, **kwargs):
        choices = [SelectChoice(str(score), (labels or {}).get(score, str(score)))
                   for score in scores]
        super().__init__(label, choices=choices, **kwargs)
        self.scores = scores
        self.required = required

    def pre_validate(self, form) -> None:
        """Required, and within the scale, with a message a customer understands."""
        if self.data in (None, ""):
            if self.required:
                raise StopValidation(_l("Please choose a score."))
            self.data = None
            raise StopValidation()  # optional and not given: nothing more to check
        if self.data not in {str(score) for score in self.scores}:
            raise StopValidation(_l("Choose a score from %(low)d to %(high)d.",
                                    low=self.scores[0], high=self.scores[-1]))

    @property
    def score(self) -> int | None:
        """The chosen score as a number (after validation), or None."""
        return int(self.data) if self.data not in (None, "") else None


class _SurveyForm(FlaskForm):
    step = HiddenField(default=STEP_DETAILS, validators=[
        Optional(), AnyOf((STEP_SCORE, STEP_DETAILS), message=_l("Reload the page."))])

    def answer(self) -> Answer:
        """The customer's answer as the validated form gives it."""
        if self.step.data == STEP_SCORE:
            return Answer(self.score.score)
        dimensions = {name: getattr(self, name).score for name in DIMENSIONS
                      if hasattr(self, name)}
        return Answer(self.score.score, Details(comment=self.comment.data, **dimensions))


class CsatForm(_SurveyForm):
    """A CSAT answer: overall 1–5, the three dimensions (optional) and a comment."""

    score = ScoreField(_l("How satisfied are you with our support?"),
                       scores=SCORES[SurveyKind.CSAT], labels=CSAT_LABELS)
    attitude = ScoreField(DIMENSION_LABELS["attitude"], scores=DIMENSION_SCORES,
                          required=False)
    efficiency = ScoreField(DIMENSION_LABELS["efficiency"], scores=DIMENSION_SCORES,
                            required=False)
    outcome = ScoreField(DIMENSION_LABELS["outcome"], scores=DIMENSION_SCORES, required=False)
    comment = TextAreaField(_l("Anything else you would like to tell us?"),
                            validators=[Optional(), Length(max=COMMENT_MAX)])


class NpsForm(_SurveyForm):
    """An NPS answer: 0–10 and the main reason for it."""

    score = ScoreField(_l("How likely are you to recommend us to a friend or colleague?"),
                       scores=SCORES[SurveyKind.NPS])
    comment = TextAreaField(_l("What is the main reason for your score?"),
                            validators=[Optional(), Length(max=COMMENT_MAX)])


class ButtonForm(FlaskForm):
    """A form that is only a button (unsubscribe): the CSRF token."""


def form_class(kind: SurveyKind) -> type[_SurveyForm]:
    """The form for a survey of this kind."""
    return CsatForm if kind == SurveyKind.CSAT else NpsForm
