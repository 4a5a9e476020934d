"""Forms of the knowledge-base console: an article, its files, status actions, categories.

The forms parse types (dates, ids, lists); the services (knowledge_base.articles,
knowledge_base.categories) check the rules and their refusals are shown on the fields.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (DateField, HiddenField, IntegerField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

from knowledge_base.models import (KIND_SECTIONS, ArticleKind, Audience,
                                   KnownIssueStatus)
from knowledge_base.labels import KNOWN_ISSUE_LABELS
from service.console.form_values import as_id, clean

KIND_HINTS = {
    ArticleKind.HOWTO: _l("Steps to get something done."),
    ArticleKind.TROUBLESHOOTING: _l("Symptoms, their cause and the steps that fix them."),
    ArticleKind.KNOWN_ISSUE: _l("A problem we know about: affected products, status and "
                                "a workaround."),
    ArticleKind.ROOT_CAUSE: _l("The problem behind many tickets: root cause, fix and "
                               "prevention."),
}
# The form says where each audience reads the article.
AUDIENCE_LABELS = {Audience.PUBLIC: _l("Public (help centre)"),
                   Audience.INTERNAL: _l("Internal (staff only)")}
LANGUAGE_LABELS = {"zh": _l("Chinese"), "en": _l("English")}
# Every section name of every kind, each a Markdown textarea on the article form.
ALL_SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(
    name for names in KIND_SECTIONS.values() for name in names))
TEXT_MAX = 100_000  # a form field longer than this is not an article (the service says more)


def split_list(value: str | None) -> list[str]:
    """Comma-separated text (either comma) → its non-empty, trimmed parts."""
    parts = (value or "").replace("，", ",").split(",")
    return [part.strip() for part in parts if part.strip()]


def _choices(labels: dict[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice(str(key), label) for key, label in labels.items()]


def _optional_id(value: Any) -> Any:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        return value
    # Text that is no id stays as sent: the field's validator or the service refuses it,
    # never silently dropped (a tampered translation_of must not make a lone article).
    number = as_id(value)
    return value if number is None else number


def _id_or_blank(_form: FlaskForm, field: Any) -> None:
    raw = field.raw_data[0] if field.raw_data else ""
    if raw and as_id(raw) is None:
        raise ValidationError(_l("Choose one from the list."))


class ArticleForm(FlaskForm):
    """An article's fields; only the chosen kind's sections are read and shown."""

    kind = HiddenField()
    translation_of = HiddenField(filters=[_optional_id])
    title = StringField(_l("Title"), filters=[clean], validators=[
        DataRequired(_l("Give the article a title.")),
        Length(max=200, message=_l("The title is at most %(max)d characters."))])
    summary = TextAreaField(_l("Summary"), filters=[clean], validators=[
        Length(max=500, message=_l("The summary is at most %(max)d characters."))])
    category_id = SelectField(_l("Category"), validate_choice=False, filters=[_optional_id],
                              validators=[_id_or_blank])
    tags = StringField(_l("Tags"), filters=[clean], validators=[Length(max=2000)])
    products = StringField(_l("Products"), filters=[clean], validators=[Length(max=3000)])
    language = SelectField(_l("Language"), choices=_choices(LANGUAGE_LABELS), default="zh")
    audience = SelectField(_l("Audience"), choices=_choices(AUDIENCE_LABELS),
                           default="public")
    owner_id = SelectField(_l("Owner"), validate_choice=False, filters=[_optional_id],
                           validators=[_id_or_blank])
    review_by = DateField(_l("Review by"), validators=[Optional()],
                          render_kw={"type": "date"})
    known_issue_status = SelectField(_l("Known-issue status"),
                                     choices=_choices(KNOWN_ISSUE_LABELS),
                                     default="investigating")
    body = TextAreaField(_l("Body"), validators=[
        Length(max=TEXT_MAX, message=_l("The text is at most %(max)d characters."))])
    note = StringField(_l("Change note"), filters=[clean], validators=[
        Length(max=300, message=_l("The note is at most %(max)d characters."))])

    def section_fields(self, kind: ArticleKind) -> list[Any]:
        """The kind's section textareas, in order."""
        return [self._fields[f"section_{name}"] for name in KIND_SECTIONS[kind]]

    def article_data(self, kind: ArticleKind) -> dict[str, Any]:
        """What the service takes, from the validated fields."""
        data: dict[str, Any] = {
            "kind": kind, "title": self.title.data, "summary": self.summary.data or "",
            "body": self.body.data or "",
            "sections": {name: self._fields[f"section_{name}"].data or ""
                         for name in KIND_SECTIONS[kind]},
            "category_id": self.category_id.data, "tags": split_list(self.tags.data),
            "products": split_list(self.products.data), "language": self.language.data,
            "audience": Audience(self.audience.data), "owner_id": self.owner_id.data,
            "review_by": self.review_by.data}
        if kind == ArticleKind.KNOWN_ISSUE:
            data["known_issue_status"] = KnownIssueStatus(self.known_issue_status.data)
        return data


# One Markdown textarea per possible section (labels come from knowledge_base.markdown).
for _name in ALL_SECTIONS:
    setattr(ArticleForm, f"section_{_name}", TextAreaField(_name, validators=[
        Length(max=TEXT_MAX, message=_l("The text is at most %(max)d characters."))]))


class ActionForm(FlaskForm):
    """A button that changes something (status, restore, delete): CSRF and a target."""

    status = HiddenField()
    back = HiddenField()  # "review": return to the review queue afterwards


class UploadForm(FlaskForm):
    """One file for an article (images are shown in its body)."""

    file = FileField(_l("File"), validators=[InputRequired(_l("Choose a file."))])


class CategoryForm(FlaskForm):
    """A category: names in both languages, where it sits in the tree."""

    slug = StringField(_l("Slug (a-z, 0-9 and -)"), filters=[clean], validators=[
        DataRequired(_l("Give the category a slug.")), Length(max=80)])
    name_en = StringField(_l("Name (English)"), filters=[clean], validators=[
        DataRequired(_l("Give the category an English name.")), Length(max=120)])
    name_zh = StringField(_l("Name (Chinese)"), filters=[clean], validators=[
        DataRequired(_l("Give the category a Chinese name.")), Length(max=120)])
    description_en = TextAreaField(_l("Description (English)"), filters=[clean],
                                   validators=[Length(max=2000)])
    description_zh = TextAreaField(_l("Description (Chinese)"), filters=[clean],
                                   validators=[Length(max=2000)])
    parent_id = SelectField(_l("Parent"), validate_choice=False, filters=[_optional_id],
                            validators=[_id_or_blank])
    position = IntegerField(_l("Position"), default=0, validators=[
        Optional(), NumberRange(min=0, max=10_000, message=_l(
            "The position is a number from %(min)d to %(max)d."))])

    def category_data(self) -> dict[str, Any]:
        """What the service takes, from the validated fields."""
        return {"slug": self.slug.data, "name_en": self.name_en.data,
                "name_zh": self.name_zh.data,
                "description_en": self.description_en.data or None,
                "description_zh": self.description_zh.data or None,
                "parent_id": self.parent_id.data, "position": self.position.data or 0}
