"""Bilingual demo data: teams, staff, VIP and standard accounts, tickets in every state."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.auth.models import Availability, User
from service.auth.services import create_user
from service.db_types import utcnow
from service.directory.models import (Account, AccountDomain, AccountProduct, Contact, Team,
                                      Tier)
from service.directory.services import add_member, skill
from service.extensions import db

DEMO_PASSWORD = "loopdesk-demo"
DEMO_LOGINS = [
    ("admin@demo.loopdesk.dev", DEMO_PASSWORD, "admin"),
    ("lead@demo.loopdesk.dev", DEMO_PASSWORD, "lead"),
    ("li.na@demo.loopdesk.dev", DEMO_PASSWORD, "agent"),
    ("sam@demo.loopdesk.dev", DEMO_PASSWORD, "agent"),
    ("wang.wei@demo.loopdesk.dev", DEMO_PASSWORD, "agent"),
    ("rd@demo.loopdesk.dev", DEMO_PASSWORD, "department"),
    ("sales@demo.loopdesk.dev", DEMO_PASSWORD, "sales"),
]
_NAMES = {
    "admin@demo.loopdesk.dev": "Ada Admin", "lead@demo.loopdesk.dev": "张磊 (Lead)",
    "li.na@demo.loopdesk.dev": "李娜", "sam@demo.loopdesk.dev": "Sam Carter",
    "wang.wei@demo.loopdesk.dev": "王伟", "rd@demo.loopdesk.dev": "陈工 (R&D)",
    "sales@demo.loopdesk.dev": "Olivia Sales",
}

# (subject, description, customer email, urgency, language, target status)
_TICKETS = [
    ("Cannot log in after password reset", "Since this morning the login page says my password is wrong, even after a reset.", "ops@northwind.example", "normal", "en", "open"),
    ("生产环境宕机，所有用户无法访问", "今天上午10点开始，我们的生产系统无法访问，所有用户都受影响。", "it@huaxia-logistics.example", "high", "zh", "new"),
    ("Invoice shows wrong VAT rate", "The October invoice uses 13% VAT but our contract says 6%.", "finance@contoso.example", "low", "en", "pending_customer"),
    ("扫码枪连接不稳定", "仓库的扫码枪每隔几分钟就断开连接，需要重新配对。", "warehouse@huaxia-logistics.example", "normal", "zh", "pending_internal"),
    ("Export to Excel times out", "Exporting more than 10,000 rows to Excel never finishes.", "bi@northwind.example", "high", "en", "resolved"),
    ("Need more seats for the new team", "We are onboarding 25 people next month; how do we add seats?", "hr@contoso.example", "low", "en", "closed"),
    ("报表数据与实际不符", "月度报表中的订单数量比系统里少了大约5%。", "data@jinghua.example", "normal", "zh", "open"),
    ("API returns 502 intermittently", "About 1 in 50 calls to /orders returns 502 since yesterday.", "dev@northwind.example", "urgent", "en", "open"),
    ("发票抬头需要修改", "请把发票抬头改为“京华科技有限公司”。", "finance@jinghua.example", "low", "zh", "resolved"),
    ("Mobile app crashes on Android 15", "The app closes right after the splash screen on Pixel 9.", "mobile@contoso.example", "normal", "en", "reopened"),
    ("打印模板丢失", "升级后自定义打印模板都不见了。", "it@huaxia-logistics.example", "high", "zh", "pending_customer"),
    ("Question about data retention", "How long do you keep deleted records?", "legal@contoso.example", "low", "en", "new"),
]


def load_demo() -> str:
    """Create the demo directory and tickets; running it again adds nothing."""
    from tickets.defaults import ensure_defaults

    ensure_defaults()
    support = db.session.scalar(select(Team).where(Team.is_default.is_(True)))
    billing = _team("Billing", "财务")
    rnd = _team("R&D", "研发")
    compliance = _team("Compliance", "合规")
    users = {email: _user(email, role) for email, _, role in DEMO_LOGINS}
    lead = users["lead@demo.loopdesk.dev"]
    support.lead_id = lead.id
    billing.lead_id = lead.id
    rnd.lead_id = users["rd@demo.loopdesk.dev"].id
    for email in ("lead@demo.loopdesk.dev", "li.na@demo.loopdesk.dev",
                  "sam@demo.loopdesk.dev", "wang.wei@demo.loopdesk.dev"):
        add_member(support, users[email])
    add_member(billing, users["sam@demo.loopdesk.dev"])
    add_member(rnd, users["rd@demo.loopdesk.dev"])
    # Its only agent is away, so its tickets wait in the queue (status "new").
    add_member(compliance, users["wang.wei@demo.loopdesk.dev"])
    compliance.lead_id = lead.id
    chinese = skill("zh")
    for email in ("li.na@demo.loopdesk.dev", "wang.wei@demo.loopdesk.dev",
                  "lead@demo.loopdesk.dev"):
        if chinese not in users[email].skills:
            users[email].skills.append(chinese)
    users["wang.wei@demo.loopdesk.dev"].availability = Availability.AWAY
    _routing_rules(billing, compliance)
    sales = users["sales@demo.loopdesk.dev"]
    _account("华夏物流 Huaxia Logistics", Tier.VIP, sales, users["li.na@demo.loopdesk.dev"],
             ["WMS", "Scanner"], ["it@huaxia-logistics.example",
                                  "warehouse@huaxia-logistics.example"])
    _account("Northwind Traders", Tier.VIP, sales, users["sam@demo.loopdesk.dev"],
             ["Orders API", "BI"], ["ops@northwind.example", "bi@northwind.example",
                                    "dev@northwind.example"])
    _account("Contoso", Tier.STANDARD, sales, None, ["Mobile"],
             ["finance@contoso.example", "hr@contoso.example", "mobile@contoso.example",
              "legal@contoso.example"])
    _account("京华科技 Jinghua Tech", Tier.STANDARD, None, None, ["Reports"],
             ["data@jinghua.example", "finance@jinghua.example"])
    db.session.commit()
    _canned_responses(users["admin@demo.loopdesk.dev"])
    created = _tickets(users)
    created += _closed_loop(users, rnd)
    from surveys.demo import load_demo_surveys

    link = load_demo_surveys()
    from knowledge_base.demo import load_demo_articles

    articles = load_demo_articles()
    summary = (f"demo data ready: {len(users)} staff, 4 accounts, {created} new tickets, "
               f"{articles} help articles")
    # The one place a survey link is shown: to whoever runs the demo, never in the console.
    return summary + (f"\ntry a customer's NPS survey: {link}" if link else "")


_CANNED = [
    ("Asking for details", "Hello {{ customer.first_name }},\n\nthank you for reporting "
     "{{ ticket.number }}. Could you send us a screenshot and the time it happened?\n\n"
     "{{ agent.name }}"),
    ("需要更多信息", "{{ customer.name }}，您好：\n\n感谢您提交工单 {{ ticket.number }}。"
     "请提供出现问题时的截图和时间，方便我们排查。\n\n{{ agent.name }}"),
    ("Fixed, please confirm", "Hello {{ customer.first_name }},\n\nwe have fixed the problem "
     "in {{ ticket.number }}. Please let us know whether it works for you now.\n\n"
     "{{ agent.name }}, {{ team.name }}"),
]


def _canned_responses(admin: User) -> None:
    from tickets import macros
    from tickets.models import CannedResponse

    if db.session.scalar(select(func.count()).select_from(CannedResponse)):
        return
    for title, body in _CANNED:
        macros.save(admin, None, {"title": title, "body": body, "scope": macros.Scope.SHARED})


def _team(name: str, name_zh: str) -> Team:
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name, name_zh=name_zh)
        db.session.add(team)
        db.session.flush()
    return team


def _user(email: str, role: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    return user or create_user(email, role, DEMO_PASSWORD, _NAMES[email])


def _routing_rules(billing: Team, compliance: Team) -> None:
    from tickets.models import RoutingRule

    if db.session.scalar(select(func.count()).select_from(RoutingRule)):
        return
    db.session.add(RoutingRule(position=10, name="Billing questions", team_id=billing.id,
                               conditions={"keywords": ["invoice", "发票", "VAT", "refund",
                                                        "退款"]}))
    db.session.add(RoutingRule(position=15, name="Privacy and retention", team_id=compliance.id,
                               conditions={"keywords": ["retention", "GDPR", "数据保留",
                                                        "隐私"]}))
    support = db.session.scalar(select(Team).where(Team.is_default.is_(True)))
    db.session.add(RoutingRule(position=20, name="Chinese-speaking customers",
                               team_id=support.id, conditions={"language": ["zh"]},
                               required_skills=["zh"]))


def _account(name: str, tier: Tier, sales: User | None, agent: User | None,
             products: list[str], emails: list[str]) -> None:
    account = db.session.scalar(select(Account).where(Account.name == name))
    if account is None:
        domains = sorted({email.rpartition("@")[2] for email in emails})
        account = Account(name=name, tier=tier, sales_owner_id=sales.id if sales else None,
                          dedicated_agent_id=agent.id if agent else None,
                          products=[AccountProduct(product=p) for p in products],
                          domains=[AccountDomain(domain=d) for d in domains])
        db.session.add(account)
        db.session.flush()
    for email in emails:
        if db.session.scalar(select(Contact.id).where(Contact.email == email)) is None:
            db.session.add(Contact(email=email, name=email.split("@")[0], account_id=account.id,
                                   company=name))


def _tickets(users: dict[str, User]) -> int:
    from tickets import conversation, intake, lifecycle
    from tickets.models import Channel, Priority, Status, Ticket, Visibility

    if db.session.scalar(select(func.count()).select_from(Ticket)):
        return 0
    agent = users["li.na@demo.loopdesk.dev"]
    for index, (subject, body, email, urgency, language, target) in enumerate(_TICKETS):
        channel = [Channel.WEB, Channel.EMAIL, Channel.API, Channel.PHONE][index % 4]
        ticket = intake.submit(intake.IntakeRequest(
            subject=subject, description=body, customer_email=email, channel=channel,
            urgency=Priority(urgency), language=language)).ticket
        staff = ticket.assignee or agent
        now = utcnow()
        if target == "new":
            continue
        reply = "您好，我们正在处理。" if language == "zh" else "Thanks, we are looking into it."
        conversation.add_staff_message(ticket, staff, reply, Visibility.PUBLIC, now)
        if target in ("resolved", "closed", "reopened"):
            _resolve_demo_ticket(ticket, staff, target, language)
            continue
        steps = {"open": [], "pending_customer": [Status.PENDING_CUSTOMER],
                 "pending_internal": [Status.PENDING_INTERNAL]}[target]
        for step in steps:
            lifecycle.change_status(ticket, step, actor=staff, now=now + timedelta(seconds=1),
                                    reason="demo")
        db.session.commit()
    return len(_TICKETS)


def _resolve_demo_ticket(ticket, staff: User, target: str, language: str) -> None:
    """Resolve through the closed loop; then the customer confirms (by phone) or rejects."""
    from tickets.resolution.models import ConfirmationChannel, ConfirmationOutcome
    from tickets.resolution.services import answer, resolve

    chinese = language == "zh"
    resolve(staff, ticket,
            summary="已按您的要求处理完毕。" if chinese else "Fixed as described in our reply.",
            root_cause="配置错误。" if chinese else "A configuration mistake on our side.",
            method="retested", result="已复测通过。" if chinese else "Retested: works.")
    if target == "closed":
        answer(ticket, ConfirmationOutcome.CONFIRMED, channel=ConfirmationChannel.PHONE,
               user=staff, call_reference="DEMO-CALL-1")
    elif target == "reopened":
        answer(ticket, ConfirmationOutcome.REJECTED, channel=ConfirmationChannel.PORTAL,
               contact_id=ticket.contact_id, ip="198.51.100.20", user_agent="demo browser",
               comment="还是不行。" if chinese else "It still happens on my machine.")


# The closed loop, through the services: (subject, description, customer, language).
_AWAITING = ("Sync fails after the 4.2 upgrade",
             "Since the upgrade to 4.2 the folder sync stops with 'conflict' every hour.",
             "dev@northwind.example", "en")
_CONFIRMED = ("导出报表时系统崩溃", "导出超过一万行的报表时，页面直接报错退出。",
              "data@jinghua.example", "zh")


def _closed_loop(users: dict[str, User], rnd: Team) -> int:
    """One ticket that went to R&D and waits for the customer's confirmation, one the
    customer confirmed in the portal; created once (found again by subject)."""
    from tickets.models import Ticket

    created = 0
    if db.session.scalar(select(Ticket.id).where(Ticket.subject == _AWAITING[0])) is None:
        _awaiting_confirmation(users, rnd)
        created += 1
    if db.session.scalar(select(Ticket.id).where(Ticket.subject == _CONFIRMED[0])) is None:
        _confirmed_in_portal(users)
        created += 1
    return created


def _demo_ticket(users: dict[str, User], spec: tuple[str, str, str, str]):
    """A ticket through intake, answered once by its agent; returns (ticket, agent)."""
    from tickets import conversation, intake
    from tickets.models import Channel, Priority, Visibility

    subject, body, email, language = spec
    ticket = intake.submit(intake.IntakeRequest(
        subject=subject, description=body, customer_email=email, channel=Channel.EMAIL,
        urgency=Priority.HIGH, language=language)).ticket
    agent = ticket.assignee or users["li.na@demo.loopdesk.dev"]
    reply = "您好，我们正在排查。" if language == "zh" else "Thanks, we are looking into it."
    conversation.add_staff_message(ticket, agent, reply, Visibility.PUBLIC, utcnow())
    db.session.commit()
    return ticket, agent


def _awaiting_confirmation(users: dict[str, User], rnd: Team) -> None:
    from tickets.resolution.services import resolve
    from tickets.tasks.models import TaskStatus
    from tickets.tasks.services import add_note, create_task

    ticket, agent = _demo_ticket(users, _AWAITING)
    engineer = users["rd@demo.loopdesk.dev"]
    task = create_task(agent, ticket, title="Find why sync stops after 4.2",
                       description="Customer logs attached to the ticket.",
                       department_id=rnd.id, expected_outcome="Root cause and a patched build")
    add_note(engineer, task, "Found it: two sync jobs race on the same folder. A patched "
             "build (4.2.1) is in testing.", publish_to_customer=True)
    add_note(engineer, task, "4.2.1 passed 100 sync runs; released.", status=TaskStatus.DONE)
    resolve(agent, ticket,
            summary="Upgraded the customer to 4.2.1, which serialises the sync jobs.",
            root_cause="A race between two sync jobs on the same folder (R&D task).",
            method="reproduced_and_retested",
            result="Reproduced on 4.2; 100 sync runs on 4.2.1 without a conflict.",
            evidence_note="R&D's test log is on the task.")


def _confirmed_in_portal(users: dict[str, User]) -> None:
    from tickets.resolution.models import ConfirmationChannel, ConfirmationOutcome
    from tickets.resolution.services import answer, resolve

    ticket, agent = _demo_ticket(users, _CONFIRMED)
    resolve(agent, ticket,
            summary="调整了导出任务的内存上限，并改为分批写入。",
            root_cause="导出时一次性把全部数据读入内存，超过一万行时进程被终止。",
            method="customer_environment", result="在客户环境中导出五万行，用时 40 秒，无报错。")
    answer(ticket, ConfirmationOutcome.CONFIRMED, channel=ConfirmationChannel.PORTAL,
           contact_id=ticket.contact_id, ip="203.0.113.24",
           user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
           comment="可以正常导出了，谢谢！")
