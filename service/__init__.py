"""Loopdesk's shared core and its application factory."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the Flask app: config, extensions, blueprints, error handlers, CLI."""
    from service import config as config_module
    from service.extensions import babel, csrf, init_database, limiter, login_manager

    app = Flask(__name__, instance_path=str(ROOT / "instance"), static_folder="static",
                template_folder="templates")
    from service.auth.cookies import TLSAwareSessionInterface
    app.session_interface = TLSAwareSessionInterface()  # Secure cookie whenever over TLS
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment(ROOT))
    app.config["MIGRATIONS_DIR"] = str(ROOT / "migrations")
    if config:
        app.config.update(config)
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    from service.logs import install as keep_tokens_out_of_logs

    keep_tokens_out_of_logs(app)

    from service.json import ApiJSONProvider

    app.json = ApiJSONProvider(app)
    from service.routing import IdConverter

    app.url_map.converters["id"] = IdConverter
    init_database(app)
    _import_models()
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    from service.auth.sessions import session_user

    login_manager.user_loader(session_user)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # sessions are ours: see service.auth.sessions
    from service.i18n import init_i18n

    init_i18n(app, babel)

    from service.errors import register_error_handlers
    from service.templating import init_templating

    init_templating(app)

    register_error_handlers(app)
    _register_reports()
    _register_blueprints(app)
    from service.ops.install import install as install_operations

    install_operations(app)  # request ids, structured logs, /metrics
    _register_cli(app)
    _register_listeners()
    return app


def _register_reports() -> None:
    """Import each domain's reports so the registry knows them (service.reports)."""
    import tickets.analytics  # noqa: F401
    import surveys.reports.registered  # noqa: F401
    import knowledge_base.report  # noqa: F401


def _import_models() -> None:
    """Import every model module so metadata (and Alembic) sees all tables."""
    import service.audit.models  # noqa: F401
    import service.auth.models  # noqa: F401
    import service.directory.models  # noqa: F401
    import service.jobs  # noqa: F401
    import service.notify.models  # noqa: F401
    import service.notify.webhooks.models  # noqa: F401
    import service.reports.models  # noqa: F401
    import tickets.channels.email.models  # noqa: F401
    import tickets.channels.chat.models  # noqa: F401
    import tickets.channels.phone.models  # noqa: F401
    import tickets.models  # noqa: F401
    import tickets.portal.models  # noqa: F401
    import tickets.resolution.models  # noqa: F401
    import tickets.tasks.models  # noqa: F401
    import surveys.models  # noqa: F401
    import knowledge_base.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from service.admin_api import blueprint as admin_api
    from service.api import build_api
    from service.auth.api import blueprint as auth_api
    from service.health import blueprint as health
    from service.openapi import blueprint as openapi
    from tickets.api import blueprint as tickets_api
    from tickets.views import blueprint as tickets_views
    from tickets.channels.chat.api import blueprint as chat_api
    from tickets.channels.chat.views import blueprint as chat_views
    from tickets.channels.phone.api import blueprint as phone_api
    from service.notify.api import blueprint as mail_api
    from service.notify.webhooks.api import blueprint as webhooks_api
    from tickets.attachments_api import blueprint as attachments_api
    from tickets.channels.email.admin_api import blueprint as mailboxes_admin_api
    from tickets.channels.email.inbound_api import blueprint as inbound_email_api
    from tickets.portal.views import blueprint as portal
    from tickets.resolution.api import blueprint as resolution_api
    from tickets.tasks.api import blueprint as tasks_api
    from surveys.api import blueprint as surveys_api
    from surveys.opportunities.api import blueprint as opportunities_api
    from surveys.public_views import blueprint as survey_pages
    from surveys.recovery.api import blueprint as recovery_api
    from service.reports.api import blueprint as reports_api
    from surveys.signals.api import blueprint as signal_rules_api
    from knowledge_base.api import blueprint as kb_api
    from service.audit.api import blueprint as audit_api
    from service.ops.metrics import blueprint as metrics
    from service.privacy.api import blueprint as privacy_api
    from knowledge_base.help_views import blueprint as help_centre

    app.register_blueprint(build_api([auth_api, tickets_api, admin_api, mail_api,
                                      attachments_api, phone_api, chat_api,
                                      webhooks_api, mailboxes_admin_api,
                                      inbound_email_api, tasks_api, resolution_api,
                                      surveys_api, recovery_api, opportunities_api,
                                      signal_rules_api, reports_api, kb_api,
                                      audit_api, privacy_api]))
    app.register_blueprint(metrics)
    app.register_blueprint(openapi)
    app.register_blueprint(health)
    app.register_blueprint(tickets_views)
    app.register_blueprint(chat_views)
    app.register_blueprint(portal)
    app.register_blueprint(survey_pages)
    app.register_blueprint(help_centre)
    for console_blueprint in _console_blueprints():
        app.register_blueprint(console_blueprint)


def _console_blueprints() -> list:
    """The staff console's pages, by domain."""
    from service.auth.views import blueprint as auth_views
    from service.console.admin_people import blueprint as admin_people
    from service.console.admin_system import blueprint as admin_system
    from service.console.dashboard import blueprint as dashboard
    from service.console.views import blueprint as console
    from service.directory.views import blueprint as customers
    from tickets.console.admin_routing import blueprint as admin_routing
    from tickets.console.admin_sla import blueprint as admin_sla
    from tickets.console.macros import blueprint as macros
    from tickets.console.queues import blueprint as queues
    from tickets.console.ticket_page import blueprint as ticket_page
    from tickets.resolution.console import blueprint as resolution_console
    from tickets.tasks.console import blueprint as tasks_console
    from surveys.admin_console import blueprint as surveys_admin
    from surveys.opportunities.console import blueprint as opportunities_console
    from surveys.recovery.console import blueprint as recovery_console
    from surveys.revisits.console import blueprint as revisits_console
    from surveys.signals.console import blueprint as signal_rules_console
    from knowledge_base.ticket_views import blueprint as kb_tickets
    from knowledge_base.console import blueprint as kb_console
    from service.audit.console import blueprint as audit_console
    from service.privacy.console import blueprint as privacy_console
    from service.reports.console import blueprint as reports_console

    return [console, auth_views, queues, ticket_page, macros, customers, dashboard,
            admin_people, admin_system, admin_sla, admin_routing, tasks_console,
            resolution_console, opportunities_console, recovery_console, revisits_console,
            surveys_admin, signal_rules_console, kb_console, kb_tickets, audit_console,
            privacy_console, reports_console]


def _register_cli(app: Flask) -> None:
    from service.cli import register_cli

    register_cli(app)


def _register_listeners() -> None:
    import tickets.listeners  # noqa: F401
    import tickets.resolution.listeners  # noqa: F401
    import tickets.tasks.listeners  # noqa: F401
    import surveys.listeners  # noqa: F401
    import knowledge_base.listeners  # noqa: F401
    import service.audit.listeners  # noqa: F401
    import tickets.load  # noqa: F401
    import tickets.repeats  # noqa: F401
    import tickets.webhook_events  # noqa: F401
