"""The console's navigation: what each role sees in the side bar."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from service.auth.permissions import Permission, can


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    permission: Permission
    section: str = "work"
    args: tuple[tuple[str, str], ...] = ()


NAV: tuple[NavItem, ...] = (
    NavItem("queues.queue", _l("My tickets"), Permission.CONSOLE, args=(("queue", "mine"),)),
    NavItem("queues.queue", _l("My team"), Permission.CONSOLE, args=(("queue", "team"),)),
    NavItem("queues.queue", _l("Unassigned"), Permission.TICKET_UPDATE,
            args=(("queue", "unassigned"),)),
    NavItem("queues.queue", _l("At risk and breached"), Permission.CONSOLE,
            args=(("queue", "at_risk"),)),
    NavItem("queues.queue", _l("Waiting on customer"), Permission.CONSOLE,
            args=(("queue", "waiting_customer"),)),
    NavItem("queues.queue", _l("Waiting on other departments"), Permission.CONSOLE,
            args=(("queue", "waiting_internal"),)),
    NavItem("queues.queue", _l("Resolved, awaiting confirmation"), Permission.CONSOLE,
            args=(("queue", "resolved"),)),
    NavItem("queues.queue", _l("All tickets"), Permission.CONSOLE, args=(("queue", "all"),)),
    # A department's cross-department tasks (tickets.tasks.console).
    NavItem("tasks_console.queue", _l("Tasks"), Permission.TASK_WORK),
    NavItem("customers.new_ticket", _l("New ticket"), Permission.TICKET_CREATE),
    NavItem("customers.contacts", _l("Customers"), Permission.CUSTOMER_VIEW, "people"),
    NavItem("customers.accounts", _l("Accounts"), Permission.CUSTOMER_VIEW, "people"),
    NavItem("opportunities_console.inbox", _l("Opportunities"), Permission.OPPORTUNITY_WORK,
            "sales"),
    NavItem("recovery_console.index", _l("Service recovery"), Permission.RECOVERY_WORK, "sales"),
    NavItem("revisits_console.index", _l("VIP revisits"), Permission.REVISIT_WORK, "sales"),
    NavItem("kb_console.articles", _l("Articles"), Permission.KB_VIEW, "kb"),
    NavItem("kb_console.review", _l("Review queue"), Permission.KB_PUBLISH, "kb"),
    NavItem("kb_console.categories", _l("Categories"), Permission.KB_CATEGORIES, "kb"),
    NavItem("kb_console.numbers", _l("Knowledge base numbers"), Permission.KB_STATS, "kb"),
    NavItem("dashboard.show", _l("Dashboard"), Permission.DASHBOARD, "lead"),
    # Whoever reads any report: leads and admins, and sales reps (the survey and follow-up
    # reports are theirs too; tests/reports/test_console.py checks each role).
    NavItem("reports_console.index", _l("Reports"), Permission.SURVEY_VIEW, "lead"),
    NavItem("admin_people.users", _l("Users"), Permission.ADMIN_USERS, "admin"),
    NavItem("admin_people.teams", _l("Teams"), Permission.ADMIN_USERS, "admin"),
    NavItem("admin_people.skills", _l("Skills"), Permission.ADMIN_USERS, "admin"),
    NavItem("admin_people.agents", _l("Availability and capacity"), Permission.AGENT_MANAGE,
            "admin"),
    NavItem("admin_sla.policies", _l("SLA policies"), Permission.ADMIN_SLA, "admin"),
    NavItem("admin_sla.calendars", _l("Business calendars"), Permission.ADMIN_SLA, "admin"),
    NavItem("admin_routing.rules", _l("Routing rules"), Permission.ADMIN_ROUTING, "admin"),
    NavItem("macros.index", _l("Canned responses"), Permission.TICKET_REPLY, "admin"),
    NavItem("surveys_admin.settings", _l("Surveys"), Permission.SURVEY_ADMIN, "admin"),
    NavItem("surveys_admin.campaigns", _l("NPS campaigns"), Permission.SURVEY_ADMIN, "admin"),
    NavItem("signal_rules_console.rules", _l("Opportunity rules"), Permission.SURVEY_ADMIN,
            "admin"),
    NavItem("admin_system.failed_jobs", _l("Failed jobs"), Permission.ADMIN_JOBS, "admin"),
    NavItem("admin_system.outbound_mail", _l("Outbound mail"), Permission.ADMIN_MAIL, "admin"),
    NavItem("admin_system.inbound_mail", _l("Inbound mail"), Permission.ADMIN_MAIL, "admin"),
    NavItem("audit_console.index", _l("Audit log"), Permission.ADMIN_AUDIT, "admin"),
)

SECTIONS = (("work", _l("Tickets")), ("people", _l("Customers")),
            ("sales", _l("Follow-ups")), ("kb", _l("Knowledge base")), ("lead", _l("Lead")),
            ("admin", _l("Administration")))


def nav_for_current_user() -> list[tuple[object, list[dict]]]:
    """The side bar's sections with the items the signed-in user may open."""
    if not current_user.is_authenticated:
        return []
    user = current_user._get_current_object()
    views = current_app.view_functions
    sections = []
    for key, title in SECTIONS:
        items = []
        for item in NAV:
            if item.section != key or item.endpoint not in views or not can(user, item.permission):
                continue
            args = dict(item.args)
            current = request.endpoint == item.endpoint and all(
                request.args.get(name, "mine" if name == "queue" else None) == value
                for name, value in args.items())
            items.append({"endpoint": item.endpoint, "args": args, "label": item.label,
                          "current": current})
        if items:
            sections.append((title, items))
    return sections
