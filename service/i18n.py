"""Language choice (zh_CN or en) and the translation catalogs."""
from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import Babel

SUPPORTED = ("en", "zh_CN")
_ALIASES = {"zh": "zh_CN", "zh_cn": "zh_CN", "zh-cn": "zh_CN", "zh-hans": "zh_CN",
            "en": "en", "en_us": "en", "en-us": "en", "en-gb": "en"}


def normalize_locale(value: str | None) -> str | None:
    """Map a user-supplied language tag to a supported locale, else None."""
    if not value:
        return None
    return _ALIASES.get(value.strip().lower())


def locale_for(language: str | None) -> str:
    """The locale to write to someone in, from a stored language ('zh', 'en', 'zh_CN'…)."""
    return "zh_CN" if (language or "").lower().startswith("zh") else "en"


def select_locale() -> str:
    """?lang= wins, then a signed-in staff user's profile, then the lang cookie, then the
    browser's Accept-Language. Outside a request (jobs, CLI) English, unless a caller uses
    force_locale for its reader."""
    from flask_login import current_user

    if not has_request_context():
        return "en"
    chosen = normalize_locale(request.args.get("lang"))
    if not chosen and current_user.is_authenticated:
        chosen = normalize_locale(current_user.locale)
    chosen = chosen or normalize_locale(request.cookies.get("lang"))
    if chosen:
        g.chosen_locale = chosen
        return chosen
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans"])
    return normalize_locale(best) or "en"


def init_i18n(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel with our selector and remember an explicit ?lang= in a cookie."""
    from service import ROOT

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "service" / "translations"))
    babel.init_app(app, locale_selector=select_locale)

    @app.after_request
    def _remember_language(response):
        explicit = normalize_locale(request.args.get("lang"))
        if explicit and request.cookies.get("lang") != explicit:
            response.set_cookie("lang", explicit, max_age=365 * 86400, samesite="Lax",
                                httponly=True, secure=app.config["SESSION_COOKIE_SECURE"])
        return response

    @app.context_processor
    def _language():
        from flask_babel import get_locale

        locale = get_locale()
        # Babel expands zh_CN to zh_Hans_CN; pages only need to know which of ours it is.
        current = "zh_CN" if locale is not None and locale.language == "zh" else "en"
        return {"current_locale": current, "supported_locales": SUPPORTED}
