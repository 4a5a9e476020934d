"""The help centre's forms (Flask-WTF): the search, a vote, "this solved my problem"."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from knowledge_base.deflections import QUERY_MAX as DEFLECTION_QUERY_MAX
from knowledge_base.feedback import COMMENT_MAX
from knowledge_base.models import ArticleKind, DeflectionSource
from knowledge_base.labels import KIND_LABELS
from knowledge_base.searches import QUERY_MAX as SEARCH_QUERY_MAX

# Where a "this solved my problem" may come from: the request forms' suggestions, or the
# help centre itself.
FORM_SOURCES = (DeflectionSource.WEB_FORM.value, DeflectionSource.PORTAL.value)
_ID = r"^[1-9][0-9]{0,9}$"


class HelpSearchForm(FlaskForm):
    """/help/search's query string (a GET form: nothing to protect with a CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search the help centre"), validators=[
        Optional(), Length(max=SEARCH_QUERY_MAX, message=_l(
            "Please search for at most %(max)d characters.", max=SEARCH_QUERY_MAX))])
    category = StringField(_l("Category"), validators=[
        Optional(), Regexp(_ID, message=_l("Choose a category from the list."))])
    product = StringField(_l("Product"), validators=[
        Optional(), Length(max=100, message=_l("At most %(max)d characters.", max=100))])
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice("", _l("All kinds")),
        *(SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items())],
        validate_choice=False, validators=[Optional(), AnyOf(
            [kind.value for kind in ArticleKind], message=_l("Choose a kind from the list."))])
    page = StringField(validators=[Optional(), Regexp(r"^[1-9][0-9]{0,2}$",
                                                      message=_l("Not a page number."))])


class FeedbackForm(FlaskForm):
    """"Was this helpful?": the pressed button's value (yes/no) and an optional comment."""

    helpful = StringField(validators=[
        DataRequired(_l("Please answer yes or no.")),
        AnyOf(("yes", "no"), message=_l("Please answer yes or no."))])
    comment = TextAreaField(_l("Tell us more (optional)"), validators=[
        Optional(), Length(max=COMMENT_MAX, message=_l(
            "Please keep the comment under %(max)d characters.", max=COMMENT_MAX))])


class DeflectionForm(FlaskForm):
    """"This solved my problem": which article, where the visitor came from, what they typed."""

    article_id = StringField(validators=[DataRequired(), Regexp(_ID)])
    source = StringField(validators=[
        DataRequired(), AnyOf([source.value for source in DeflectionSource])])
    q = StringField(validators=[Optional(), Length(max=DEFLECTION_QUERY_MAX)])
