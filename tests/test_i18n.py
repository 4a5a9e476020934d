"""Translation catalogs: complete for every marked string, placeholder-safe, and usable.

The source is re-extracted with Babel on every run (same babel.cfg and keywords as the
refresh commands), so a newly marked string that is missing from a catalog, untranslated
or fuzzy fails here. To refresh the catalogs:

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext \
        --add-comments=TRANSLATORS: -o service/translations/messages.pot .
    .venv/bin/pybabel update -i service/translations/messages.pot -d service/translations
    # translate the new/fuzzy entries, then: make translations

Simplified Chinese lives in service/translations/zh_Hans_CN, not zh_CN: Flask-Babel passes
the selected locale through babel.Locale.parse, which turns "zh_CN" into "zh_Hans_CN", and
the catalog directory is looked up under that name (a zh_CN directory is never found).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.frontend import ExtractMessages
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "service" / "translations"
# The locales the app offers (service.i18n.SUPPORTED) → their catalog directory.
CATALOG_DIRS = {"en": "en", "zh_CN": "zh_Hans_CN"}
LOCALES = tuple(CATALOG_DIRS)
# Keep in step with the extract command above (babel.cfg repeats them per section).
KEYWORDS = ["_l", "lazy_gettext"]

# Python %-format directives, including %% (Jinja's newstyle gettext always %-formats).
PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")
CJK = re.compile(r"[\u4e00-\u9fff]")


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text or ""))


def catalog_path(locale: str) -> Path:
    return TRANSLATIONS / CATALOG_DIRS[locale] / "LC_MESSAGES" / "messages.po"


def load_catalog(locale: str):
    with catalog_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """Every message marked in the source, extracted afresh into a temporary .pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    command = ExtractMessages()
    command.mapping_file = str(ROOT / "babel.cfg")
    command.keywords = KEYWORDS
    command.input_paths = [str(ROOT)]
    command.output_file = str(pot)
    command.ensure_finalized()
    command.run()
    with pot.open("rb") as handle:
        template = read_po(handle)
    messages = [message for message in template if message.id]
    assert messages, "extraction found no messages: is babel.cfg still correct?"
    return messages


@pytest.fixture(scope="module", params=LOCALES)
def catalog(request):
    catalog = load_catalog(request.param)
    catalog.locale_code = request.param  # the app's name for it, for messages
    return catalog


def _where(message) -> str:
    return ", ".join(f"{Path(path).resolve().relative_to(ROOT).as_posix()}:{line}"
                     for path, line in message.locations) or "?"


def test_extraction_skips_the_virtualenv_and_tests(source_messages):
    files = {Path(path).resolve().relative_to(ROOT).as_posix()
             for message in source_messages for path, _line in message.locations}
    assert files
    allowed = ("service/", "tickets/", "surveys/", "knowledge_base/")
    assert all(path.startswith(allowed) for path in files), sorted(files)


def test_every_offered_locale_has_a_catalog_where_flask_babel_looks():
    from service.i18n import SUPPORTED

    assert set(SUPPORTED) == set(CATALOG_DIRS)
    for locale in SUPPORTED:
        # Flask-Babel → Translations.load(dir, [Locale.parse(locale)]) → gettext.find,
        # which tries str(Locale) and then the bare language: the .po must sit there.
        candidates = {str(Locale.parse(locale)), Locale.parse(locale).language}
        assert CATALOG_DIRS[locale] in candidates, (locale, candidates)
        assert catalog_path(locale).is_file()


def test_every_source_message_is_translated(source_messages, catalog):
    locale = catalog.locale_code
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    problems = []
    for source in source_messages:
        entry = catalog.get(source.id, source.context)
        label = f"{source.id!r} ({_where(source)})"
        if entry is None or entry.id != source.id:
            problems.append(f"missing: {label}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {label}")
        elif source.pluralizable:
            forms = entry.string if isinstance(entry.string, (list, tuple)) else (entry.string,)
            if len(forms) != catalog.num_plurals or not all(forms):
                problems.append(f"untranslated plural forms: {label}")
        elif not entry.string:
            problems.append(f"untranslated: {label}")
    assert not problems, (
        f"{catalog_path(locale).relative_to(ROOT)} is out of date with the source "
        "(re-extract, pybabel update, translate):\n  " + "\n  ".join(problems))


def test_chinese_catalog_has_one_plural_form():
    catalog = load_catalog("zh_CN")
    assert catalog.num_plurals == 1
    assert "nplurals=1" in catalog.plural_forms


def test_placeholders_match(catalog):
    locale = catalog.locale_code
    problems = []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        if entry.pluralizable:
            singular, plural = entry.id[0], entry.id[1]
            allowed = set(placeholders(singular)) | set(placeholders(plural))
            forms = list(entry.string)
            for form in forms:
                if form and not set(placeholders(form)) <= allowed:
                    problems.append(f"{singular!r}: unexpected placeholder in {form!r}")
            # The last form covers the general count, like msgid_plural does.
            if forms[-1] and set(placeholders(forms[-1])) != set(placeholders(plural)):
                problems.append(f"{plural!r}: placeholders differ in {forms[-1]!r}")
        elif placeholders(entry.string) != placeholders(entry.id):
            problems.append(f"{entry.id!r}: placeholders differ in {entry.string!r}")
    # Babel's own checks (python-format compatibility, number of plural forms).
    for entry, errors in catalog.check():
        problems.extend(f"{entry.id!r}: {error}" for error in errors)
    assert not problems, f"{locale}:\n  " + "\n  ".join(problems)


# ---- the compiled catalogs, as Flask-Babel loads them ----

@pytest.fixture(scope="module")
def compiled_translations(tmp_path_factory) -> Path:
    """Compile the .po files to a temporary directory, independent of `make translations`."""
    directory = tmp_path_factory.mktemp("translations")
    for locale in LOCALES:
        target = directory / CATALOG_DIRS[locale] / "LC_MESSAGES"
        target.mkdir(parents=True)
        with (target / "messages.mo").open("wb") as handle:
            write_mo(handle, load_catalog(locale))
    return directory


@pytest.fixture
def i18n_app(compiled_translations, monkeypatch):
    from service import create_app
    from service.extensions import babel

    application = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True,
                              "BABEL_TRANSLATION_DIRECTORIES": str(compiled_translations)})
    with application.app_context():
        # Flask-Babel caches loaded catalogs per (locale, domain) on the shared Babel
        # instance, across apps: start empty so our compiled copy is what gets loaded,
        # and restore the original cache afterwards.
        monkeypatch.setattr(babel.domain_instance, "cache", {})
        yield application


def test_compiled_catalogs_load_for_every_locale(compiled_translations):
    for locale in LOCALES:
        loaded = Translations.load(str(compiled_translations), [Locale.parse(locale)])
        assert isinstance(loaded, Translations), f"no catalog found for {locale}"


def test_compiled_catalog_translates_in_chinese(i18n_app):
    from flask import render_template
    from flask_babel import get_locale, gettext, ngettext

    from service.templating import STATUS_LABELS

    zh = load_catalog("zh_CN")
    expected = zh["Submit a request"].string
    assert CJK.search(expected)
    alert = zh[("%(num)d SLA alert", "%(num)d SLA alerts")].string
    alert = alert[0] if isinstance(alert, (list, tuple)) else alert

    with i18n_app.test_request_context("/?lang=zh_CN"):
        assert get_locale() == Locale.parse("zh_CN")
        assert gettext("Submit a request") == expected
        assert ngettext("%(num)d SLA alert", "%(num)d SLA alerts", 3) == alert % {"num": 3}
        assert str(STATUS_LABELS["resolved"]) == zh["Resolved"].string  # lazy_gettext
        subject = render_template("tickets/mail/sla_digest_subject.txt", count=2)
        assert subject.strip() == alert % {"num": 2}


def test_compiled_catalog_in_english(i18n_app):
    from flask_babel import get_locale, gettext, ngettext

    with i18n_app.test_request_context("/?lang=en"):
        assert get_locale() == Locale.parse("en")
        assert gettext("Submit a request") == "Submit a request"
        assert ngettext("%(num)d SLA alert", "%(num)d SLA alerts", 1) == "1 SLA alert"
        assert ngettext("%(num)d SLA alert", "%(num)d SLA alerts", 2) == "2 SLA alerts"


def test_home_page_renders_in_chinese(i18n_app):
    expected = load_catalog("zh_CN")["Submit a request"].string
    response = i18n_app.test_client().get("/?lang=zh_CN")
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)
