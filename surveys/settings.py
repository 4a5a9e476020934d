"""The admins' survey settings: one row, created with the defaults on first read."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from service.extensions import db
from surveys.models import SurveySettings

SETTINGS_ID = 1


def current() -> SurveySettings:
    """The settings row (inserted with the model's defaults when there is none yet)."""
    settings = db.session.get(SurveySettings, SETTINGS_ID)
    if settings is not None:
        return settings
    settings = SurveySettings(id=SETTINGS_ID)
    try:
        with db.session.begin_nested():
            db.session.add(settings)
    except IntegrityError:  # another request inserted it first
        settings = db.session.get(SurveySettings, SETTINGS_ID)
    return settings
