"""Input rules of an article: the field checks behind create and update.

Each check adds its messages to one errors dict, so InvalidInput lists every problem at
once; the values that pass come back normalised (text stripped, names de-duplicated).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from service.auth.models import Role, User
from service.errors import InvalidInput
from service.extensions import db
from service.validation import is_id, strip_controls

from knowledge_base.models import (KIND_SECTIONS, Article, ArticleKind, Audience, Category,
                                   KnownIssueStatus)

FIELDS = ("kind", "title", "summary", "body", "sections", "known_issue_status", "category_id",
          "tags", "products", "language", "audience", "owner_id", "review_by", "translation_of")
LANGUAGES = ("zh", "en")
MAX_TITLE = 200
MAX_SUMMARY = 500
MAX_SECTION = 20_000
MAX_BODY = 100_000
MAX_TAGS, MAX_TAG = 20, 40
MAX_PRODUCTS, MAX_PRODUCT = 20, 100
MAX_NOTE = 300
MAX_PAGE = 100


def enum_value(value: Any, enum_class: type, errors: dict, field: str, message: str) -> Any:
    """`value` as a member of `enum_class`, or None with `message` recorded on `field`."""
    try:
        return enum_class(value)
    except ValueError:
        errors[field] = [message]
        return None


def _text(value: Any, field: str, limit: int, errors: dict, *, required: bool = False,
          single_line: bool = False) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = [_("Give text.")]
        return None
    value = strip_controls(value)
    value = " ".join(value.split()) if single_line else value.strip()
    if required and not value:
        errors[field] = [_("This field is required.")]
        return None
    if len(value) > limit:
        errors[field] = [_("At most %(limit)s characters.", limit=limit)]
        return None
    return value


def _labels(value: Any, field: str, errors: dict, *, most: int, longest: int,
            lower: bool) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        errors[field] = [_("Give a list of names.")]
        return None
    seen: dict[str, str] = {}
    problems: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems.append(_("Each entry must be text."))
            continue
        name = " ".join(strip_controls(item).split())
        name = name.lower() if lower else name
        if not name:
            continue
        if len(name) > longest:
            problems.append(_("“%(name)s” is longer than %(limit)s characters.",
                              name=name[:longest] + "…", limit=longest))
            continue
        seen.setdefault(name.casefold(), name)
    if len(seen) > most:
        problems.append(_("At most %(limit)s entries.", limit=most))
    if problems:
        errors[field] = problems
        return None
    return list(seen.values())


def _sections(value: Any, kind: ArticleKind, errors: dict) -> dict[str, str] | None:
    allowed = KIND_SECTIONS[kind]
    if value is None:
        value = {}
    if not isinstance(value, dict):
        errors["sections"] = [_("Give the sections as named texts.")]
        return None
    problems: list[str] = []
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        if allowed:
            problems.append(_("This kind of article has no section %(names)s (it has: "
                              "%(allowed)s).", names=", ".join(unknown),
                              allowed=", ".join(allowed)))
        else:
            problems.append(_("This kind of article has no sections."))
    clean: dict[str, str] = {}
    for key in allowed:
        text = value.get(key)
        if text is None:
            text = ""
        if not isinstance(text, str):
            problems.append(_("Section %(name)s must be text.", name=key))
            continue
        text = strip_controls(text).strip()
        if len(text) > MAX_SECTION:
            problems.append(_("Section %(name)s is longer than %(limit)s characters.",
                              name=key, limit=MAX_SECTION))
            continue
        clean[key] = text
    if problems:
        errors["sections"] = problems
        return None
    return clean


def _merged_sections(article: Article | None, data: dict[str, Any], kind: ArticleKind,
                     errors: dict) -> dict[str, str] | None:
    """A create takes the sections it is given; an update changes only the sections it
    names and keeps the current ones the (new) kind also has."""
    given = data.get("sections") if "sections" in data else {}
    if article is None or not isinstance(given, dict):
        return _sections(given, kind, errors)
    kept = {key: text for key, text in (article.sections or {}).items()
            if key in KIND_SECTIONS[kind]}
    return _sections({**kept, **given}, kind, errors)


def _owner(value: Any, errors: dict) -> int | None:
    if value is None:
        return None
    user = db.session.get(User, value) if is_id(value) else None
    if user is None or not user.is_active or user.role == Role.PARTNER:
        errors["owner_id"] = [_("The owner must be an active staff member.")]
        return None
    return user.id


def _category(value: Any, errors: dict) -> int | None:
    if value is None:
        return None
    if not is_id(value) or db.session.get(Category, value) is None:
        errors["category_id"] = [_("No such category.")]
        return None
    return value


def _review_by(value: Any, errors: dict) -> date | None:
    if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
        errors["review_by"] = [_("Give a date.")]
        return None
    return value


def _translation_target(value: Any, article: Article | None, language: str | None,
                        errors: dict) -> Article | None:
    if value is None:
        return None
    other = db.session.get(Article, value) if is_id(value) else None
    if other is None or (article is not None and other.id == article.id):
        errors["translation_of"] = [_("No such article to translate.")]
        return None
    if language is not None and other.language == language:
        errors["translation_of"] = [_("A translation must be in the other language.")]
        return None
    return other


def clean_fields(data: dict[str, Any], article: Article | None) -> dict[str, Any]:
    """The checked, normalised values of `data` (create: every field; update: the keys
    present), or InvalidInput listing every problem at once."""
    if not isinstance(data, dict):
        raise InvalidInput(_("Give the article's fields."))
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in FIELDS:
            errors[str(key)] = [_("Unknown field.")]
    creating = article is None
    clean: dict[str, Any] = {}

    def given(field: str) -> bool:
        return creating or field in data

    if given("title"):
        clean["title"] = _text(data.get("title"), "title", MAX_TITLE, errors, required=True,
                               single_line=True)
    if given("summary"):
        clean["summary"] = _text(data.get("summary"), "summary", MAX_SUMMARY, errors)
    if given("body"):
        clean["body"] = _text(data.get("body"), "body", MAX_BODY, errors)
    if given("kind"):
        kind_value = data.get("kind") or (ArticleKind.HOWTO if creating else "")
        clean["kind"] = enum_value(kind_value, ArticleKind, errors, "kind",
                                   _("Not a kind of article."))
    kind = clean.get("kind") if "kind" in clean else (article.kind if article else None)
    if given("language"):
        language = data.get("language")
        if language not in LANGUAGES:
            errors["language"] = [_("Choose Chinese (zh) or English (en).")]
        clean["language"] = language
    if given("audience"):
        # Public only when someone chose so: a new article is internal unless told.
        audience_value = data.get("audience") or (Audience.INTERNAL if creating else "")
        clean["audience"] = enum_value(audience_value, Audience, errors, "audience",
                                       _("Choose public or internal."))
    # Sections and the known-issue status depend on the kind (old or new).
    if kind is not None and (given("sections") or "kind" in clean):
        clean["sections"] = _merged_sections(article, data, kind, errors)
    if kind is not None and (given("known_issue_status") or "kind" in clean):
        status = data.get("known_issue_status")
        if kind == ArticleKind.KNOWN_ISSUE:
            if status is None:
                status = (article.known_issue_status if article is not None
                          and article.known_issue_status else KnownIssueStatus.INVESTIGATING)
            clean["known_issue_status"] = enum_value(status, KnownIssueStatus, errors,
                                                     "known_issue_status",
                                                     _("Not a known issue status."))
        elif status is not None and "known_issue_status" in data:
            errors["known_issue_status"] = [_("Only known issues have a status.")]
        else:
            clean["known_issue_status"] = None
    if given("category_id"):
        clean["category_id"] = _category(data.get("category_id"), errors)
    if given("tags"):
        clean["tags"] = _labels(data.get("tags"), "tags", errors, most=MAX_TAGS,
                                longest=MAX_TAG, lower=True)
    if given("products"):
        clean["products"] = _labels(data.get("products"), "products", errors,
                                    most=MAX_PRODUCTS, longest=MAX_PRODUCT, lower=False)
    if "owner_id" in data:
        clean["owner_id"] = _owner(data.get("owner_id"), errors)
    if "review_by" in data:
        clean["review_by"] = _review_by(data.get("review_by"), errors)
    if "translation_of" in data:
        language = clean.get("language") if "language" in clean else (
            article.language if article else None)
        clean["translation_of"] = _translation_target(data.get("translation_of"), article,
                                                      language, errors)
    if errors:
        raise InvalidInput(_("Some fields need attention."), errors=errors)
    return clean


def clean_note(note: str | None) -> str | None:
    """The version note on one line (None when empty), or InvalidInput when too long."""
    if note is None:
        return None
    if not isinstance(note, str):
        raise InvalidInput(errors={"note": [_("Give text.")]})
    note = " ".join(strip_controls(note).split())
    if len(note) > MAX_NOTE:
        raise InvalidInput(errors={"note": [_("At most %(limit)s characters.",
                                              limit=MAX_NOTE)]})
    return note or None
