"""Load a realistic Loopdesk dataset into PostgreSQL fast, with COPY.

    python bench/generate.py --database-url postgresql://postgres@127.0.0.1/loopdesk_bench \
        --tickets 1000000
    python bench/generate.py --database-url ... --tickets 0 --due 10000

The schema must exist (`flask --app wsgi setup`). The generator adds teams, agents,
routing rules, accounts, contacts, tickets (statuses, priorities, teams and assignees by
age, created_at spread over a year, SLA columns as the app's own clock would have left
them), one to five messages per ticket, a 'created' timeline event per ticket and a few
tags. Secondary indexes and foreign keys of the big tables are dropped for the load and
rebuilt afterwards, all in one transaction (a failure leaves the database as it was);
id sequences are reset with setval.

`--due N` then makes N open tickets due for the SLA sweep: their warning point (and for
about a third their due time) passed a little while ago, nothing is marked warned or
breached yet, and `sla_next_check_at` is in the past, as after a short ticker outage.
Only the standard library and psycopg 3 are needed.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg

DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ---------------------------------------------------------------------------- text pools
PRODUCTS = ["Router X1", "Router X2", "Switch S8", "Camera C3", "Cloud Drive", "Mesh Pro",
            "NAS N4", "Smart Plug", "Gateway G7", "Mobile App"]
CATEGORIES = ["bug", "how-to", "account", "billing", "hardware", "shipping", "feature",
              "network", "security", "other"]
TEAMS = [("Support", "技术支持"), ("Billing", "账务"), ("R&D", "研发"), ("QA", "质量保证"),
         ("Logistics", "物流")]
CATEGORY_TEAM = {"billing": "Billing", "shipping": "Logistics", "hardware": "Logistics",
                 "bug": "R&D", "security": "R&D"}
TAGS = ["firmware", "refund", "rma", "wifi", "login", "vip-followup", "known-issue",
        "escalated", "中文", "duplicate", "invoice", "upgrade"]
SUBJECTS_EN = ["{p} keeps rebooting every few hours", "Cannot log in to {p} console",
               "{p}: firmware update failed", "Invoice for {p} shows wrong amount",
               "How do I reset {p} to factory settings?", "{p} is slow since yesterday",
               "Replacement for broken {p}", "{p} not reachable from branch office",
               "Question about {p} warranty", "{p} loses Wi-Fi connection at night",
               "Feature request: export logs from {p}", "{p} shipment has not arrived"]
SUBJECTS_ZH = ["{p} 每隔几个小时自动重启", "无法登录 {p} 管理后台", "{p} 固件升级失败",
               "{p} 发票金额不对", "如何将 {p} 恢复出厂设置？", "{p} 从昨天开始很慢",
               "{p} 坏了，申请换货", "分公司访问不了 {p}", "{p} 保修咨询", "{p} 晚上经常断开 Wi-Fi"]
BODY_EN = [("Hello, since the last update the device restarts on its own. We tried a power "
           "cycle and a different cable but nothing helped. Logs attached."),
           ("Hi team, our users cannot sign in since this morning; the page shows an "
           "unexpected error after entering the password. Please advise."),
           ("We were charged twice for the annual plan. Could you check the invoice and "
           "refund the duplicate payment?"),
           ("The unit arrived with a cracked housing. We need a replacement as soon as "
           "possible because the site opens next week."),
           ("Throughput dropped from 900 Mbit/s to about 50 Mbit/s after the config change. "
           "Nothing else changed on our side."),
           ("Could you explain how to schedule automatic backups? The manual is not clear "
           "about the retention settings.")]
BODY_ZH = ["你好，升级之后设备会自己重启，我们换了电源和网线都没有用，日志已附上。",
           "今天早上开始用户都登录不了，输入密码之后页面报错，请尽快帮忙看一下。",
           "年费被扣了两次，麻烦核对一下发票并退回重复的款项。",
           "收到的设备外壳有裂痕，下周就要开业，请尽快安排换货。",
           "修改配置之后速度从 900M 掉到 50M 左右，我们这边没有其他改动。",
           "请问自动备份怎么设置？说明书里关于保留策略写得不太清楚。"]
REPLY_EN = ["Thanks for the details. We are looking into it and will update you shortly.",
            "Could you send us the serial number and a screenshot of the error?",
            "A fix is available in firmware 2.4.1; please update and let us know.",
            "We have issued the refund; it should appear within 5 business days."]
REPLY_ZH = ["感谢提供信息，我们正在排查，稍后给您回复。", "请提供设备序列号和报错截图。",
            "固件 2.4.1 已修复该问题，请升级后告诉我们结果。", "退款已处理，5 个工作日内到账。"]
NOTES = ["Reproduced in lab, escalating to R&D.", "Customer is on the legacy plan.",
         "内部备注：已联系物流确认。", "Same issue as the previous ticket from this account."]
FIRST = ["Li", "Wang", "Zhang", "Liu", "Chen", "Anna", "Ben", "Carla", "David", "Emma",
         "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kim"]
LAST = ["Wei", "Fang", "Jing", "Smith", "Brown", "Garcia", "Müller", "Rossi", "Tanaka",
        "Novak", "Okafor", "Silva"]
DOMAINS = ["example.com", "example.net", "example.org", "mail.example.cn", "corp.example.io"]

STATUS_BY_AGE = [  # (max age in days, [(status, weight)...])
    (1, [("new", 12), ("open", 45), ("pending_customer", 15), ("pending_internal", 10),
         ("reopened", 1), ("resolved", 14), ("closed", 3)]),
    (7, [("new", 3), ("open", 22), ("pending_customer", 14), ("pending_internal", 8),
         ("reopened", 2), ("resolved", 23), ("closed", 28)]),
    (30, [("new", 1), ("open", 7), ("pending_customer", 4), ("pending_internal", 2),
          ("reopened", 1), ("resolved", 8), ("closed", 77)]),
    (10**9, [("open", 0.45), ("pending_customer", 0.35), ("pending_internal", 0.15),
             ("reopened", 0.05), ("resolved", 1.0), ("closed", 98.0)]),
]
PRIORITIES = [("low", 20), ("normal", 55), ("high", 18), ("urgent", 7)]
CHANNELS = [("email", 45), ("web", 20), ("portal", 15), ("chat", 10), ("phone", 5), ("api", 5)]
OPEN_LIKE = {"new", "open", "pending_customer", "pending_internal", "reopened"}

TICKET_COLUMNS = [
    "id", "subject", "status", "priority", "priority_reason", "channel", "language",
    "category", "product", "required_skills", "contact_id", "account_id", "team_id",
    "assignee_id", "created_by_id", "reopen_count", "sla_policy_id", "sla_started_at",
    "sla_paused_at", "sla_paused_seconds", "first_response_due_at", "resolution_due_at",
    "first_response_warn_at", "resolution_warn_at", "first_responded_at", "resolved_at",
    "closed_at", "first_response_warned_at", "resolution_warned_at",
    "first_response_breached_at", "resolution_breached_at", "sla_state", "sla_next_check_at",
    "created_at", "updated_at"]
MESSAGE_COLUMNS = ["id", "ticket_id", "author_kind", "author_user_id", "author_contact_id",
                   "visibility", "channel", "body", "created_at"]
EVENT_COLUMNS = ["id", "ticket_id", "kind", "actor_kind", "actor_user_id", "actor_contact_id",
                 "channel", "data", "created_at"]
CONTACT_COLUMNS = ["id", "email", "name", "phone", "company", "language", "account_id",
                   "email_bouncing", "created_at"]
ACCOUNT_COLUMNS = ["id", "name", "tier", "sales_owner_id", "dedicated_agent_id", "created_at"]
TAG_COLUMNS = ["ticket_id", "tag"]
BIG_TABLES = ("tickets", "messages", "ticket_events", "ticket_tags", "contacts", "accounts")

N = r"\N"  # NULL in COPY text format


def copy_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def contact_email(index: int) -> str:
    """The email of generated contact number `index` (1-based); the Lua scripts know it."""
    return f"customer{index}@{DOMAINS[index % len(DOMAINS)]}"


def account_name(index: int) -> str:
    return f"Account {index:05d} Ltd"


class Clock:
    """Fast epoch-seconds to timestamptz text, by table lookup (strftime is too slow)."""

    def __init__(self, start_day: int, end_day: int) -> None:
        self.first = start_day
        self.days = [(EPOCH + timedelta(days=d)).strftime("%Y-%m-%d ")
                     for d in range(start_day, end_day + 1)]
        self.hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]

    def __call__(self, seconds: int | None) -> str:
        if seconds is None:
            return N
        day, rest = divmod(int(seconds), DAY)
        return self.days[day - self.first] + self.hms[rest]


def weighted(pairs, rng: random.Random, k: int) -> list:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


# ---------------------------------------------------------------------------- schema checks
def check_schema(cur, table: str, columns: list[str]) -> None:
    """Fail loudly if the real schema drifted from what this generator writes."""
    cur.execute("""SELECT column_name, is_nullable, column_default FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = %s""", (table,))
    rows = cur.fetchall()
    if not rows:
        sys.exit(f"table {table} is missing: run `flask --app wsgi setup` first")
    real = {name for name, _, _ in rows}
    unknown = [c for c in columns if c not in real]
    missing = [name for name, nullable, default in rows
               if nullable == "NO" and default is None and name not in columns]
    if unknown or missing:
        sys.exit(f"schema of {table} changed: generator writes unknown columns {unknown}, "
                 f"does not fill NOT NULL columns {missing}; update bench/generate.py")


def next_id(cur, table: str) -> int:
    cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cur.fetchone()[0]


def reset_sequences(cur) -> None:
    for table in ("accounts", "contacts", "users", "teams", "routing_rules", "tickets",
                  "messages", "ticket_events", "sla_policies"):
        cur.execute(f"""SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               coalesce((SELECT max(id) FROM {table}), 0) + 1, false)""")


def drop_secondary(cur) -> list[str]:
    """Drop non-PK indexes and FKs of the big tables; return the DDL that recreates them."""
    restore: list[str] = []
    cur.execute("""SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
                   FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)""",
                (list(BIG_TABLES),))
    fks = cur.fetchall()
    cur.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                   FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%s)
                   AND NOT i.indisprimary
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                   WHERE c.conindid = i.indexrelid)""",
                (list(BIG_TABLES),))
    indexes = cur.fetchall()
    for table, name, definition in fks:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        cur.execute(f"DROP INDEX {name}")
        restore.insert(0, definition)  # indexes first, FKs after (they use PK indexes)
    return restore


# ---------------------------------------------------------------------------- reference data
def ensure_staff(cur, agents_wanted: int, now: datetime) -> dict:
    """Teams, generated agents (no password: they never log in) and a few routing rules."""
    for name, name_zh in TEAMS:
        cur.execute("""INSERT INTO teams (name, name_zh, is_default, created_at)
                       VALUES (%s, %s, false, %s) ON CONFLICT (name) DO NOTHING""",
                    (name, name_zh, now))
    cur.execute("SELECT name, id FROM teams")
    teams = dict(cur.fetchall())
    cur.execute("SELECT count(*) FROM users WHERE email LIKE 'gen-agent%%@bench.loopdesk.test'")
    have = cur.fetchone()[0]
    team_names = [name for name, _ in TEAMS]
    for i in range(have + 1, agents_wanted + 1):
        # 40 % Support, the rest spread over the other teams.
        team = "Support" if i % 5 in (0, 1) else team_names[1 + i % 4]
        role = "lead" if i <= len(TEAMS) else "agent"
        cur.execute("""INSERT INTO users (email, name, password_hash, role, is_active, locale,
                       availability, max_open_tickets, created_at)
                       VALUES (%s, %s, NULL, %s, true, %s, 'available', 400, %s) RETURNING id""",
                    (f"gen-agent{i}@bench.loopdesk.test", f"Agent {i}", role,
                     "zh" if i % 3 == 0 else "en", now - timedelta(days=400)))
        user_id = cur.fetchone()[0]
        team = team_names[i - 1] if role == "lead" else team
        cur.execute("INSERT INTO team_members (team_id, user_id) VALUES (%s, %s)",
                    (teams[team], user_id))
        if role == "lead":
            cur.execute("UPDATE teams SET lead_id = %s WHERE id = %s AND lead_id IS NULL",
                        (user_id, teams[team]))
    cur.execute("""SELECT tm.team_id, tm.user_id FROM team_members tm
                   JOIN users u ON u.id = tm.user_id
                   WHERE u.role IN ('agent', 'lead') AND u.is_active""")
    members: dict[int, list[int]] = {}
    for team_id, user_id in cur.fetchall():
        members.setdefault(team_id, []).append(user_id)
    cur.execute("SELECT count(*) FROM routing_rules")
    if cur.fetchone()[0] == 0:
        rules = [("Billing questions", {"category": ["billing"]}, "Billing"),
                 ("Shipping and RMA", {"category": ["shipping", "hardware"],
                                       "keywords": []}, "Logistics"),
                 ("Returns (keywords)", {"keywords": ["RMA", "退货", "换货"]}, "Logistics"),
                 ("Bugs to R&D", {"category": ["bug", "security"]}, "R&D")]
        for position, (name, conditions, team) in enumerate(rules, 1):
            conditions = {k: v for k, v in conditions.items() if v}
            cur.execute("""INSERT INTO routing_rules (position, name, is_active, conditions,
                           team_id, required_skills) VALUES (%s, %s, true, %s, %s, '[]')""",
                        (position, name, json.dumps(conditions), teams[team]))
    return {"teams": teams, "members": members}


def load_policies(cur) -> dict:
    cur.execute("""SELECT p.priority, p.id, p.first_response_minutes, p.resolution_minutes,
                   p.warning_ratio_percent, c.weekly_hours FROM sla_policies p
                   JOIN business_calendars c ON c.id = p.calendar_id""")
    policies = {}
    for priority, pid, first, resolution, ratio, weekly in cur.fetchall():
        hours = weekly if isinstance(weekly, dict) else json.loads(weekly)
        if any(value != [["00:00", "24:00"]] for value in hours.values()) or len(hours) != 7:
            print(f"warning: the calendar of policy {priority} is not 24x7; generated due "
                  "times use wall-clock minutes", file=sys.stderr)
        policies[priority] = (pid, first * 60, resolution * 60, ratio / 100)
    if len(policies) != 4:
        sys.exit("expected four SLA policies: run `flask --app wsgi setup` first")
    return policies


# ---------------------------------------------------------------------------- generation
def generate(conn, tickets: int, seed: int, chunk: int = 20000) -> None:
    rng = random.Random(seed)
    now_dt = datetime.now(UTC).replace(microsecond=0)
    now = int(now_dt.timestamp())
    start = now - 365 * DAY
    clock = Clock(start // DAY - 2, now // DAY + 40)
    cur = conn.cursor()
    for table, columns in (("tickets", TICKET_COLUMNS), ("messages", MESSAGE_COLUMNS),
                           ("ticket_events", EVENT_COLUMNS), ("contacts", CONTACT_COLUMNS),
                           ("accounts", ACCOUNT_COLUMNS), ("ticket_tags", TAG_COLUMNS)):
        check_schema(cur, table, columns)
    cur.execute("SET LOCAL synchronous_commit = off")
    cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
    staff = ensure_staff(cur, max(12, tickets // 10000), now_dt)
    policies = load_policies(cur)
    teams, members = staff["teams"], staff["members"]
    all_agents = sorted({u for users in members.values() for u in users})
    t0 = time.monotonic()
    restore = drop_secondary(cur)
    print(f"dropped {len(restore)} indexes/FKs for the load", flush=True)

    # -- accounts and contacts
    n_contacts = max(10, tickets // 5)
    n_accounts = max(2, n_contacts // 40)
    account0, contact0 = next_id(cur, "accounts"), next_id(cur, "contacts")
    ticket0, message0, event0 = (next_id(cur, "tickets"), next_id(cur, "messages"),
                                 next_id(cur, "ticket_events"))
    vip = set(rng.sample(range(n_accounts), max(1, n_accounts // 20)))
    with cur.copy(f"COPY accounts ({', '.join(ACCOUNT_COLUMNS)}) FROM STDIN") as copy:
        lines = []
        for i in range(n_accounts):
            dedicated = rng.choice(all_agents) if i in vip and rng.random() < 0.3 else None
            lines.append(f"{account0 + i}\t{account_name(account0 + i)}\t"
                         f"{'vip' if i in vip else 'standard'}\t\\N\t"
                         f"{N if dedicated is None else dedicated}\t"
                         f"{clock(start - rng.randrange(400 * DAY))}\n")
        copy.write("".join(lines))
    contact_account: list[int | None] = []
    contact_lang: list[str] = []
    with cur.copy(f"COPY contacts ({', '.join(CONTACT_COLUMNS)}) FROM STDIN") as copy:
        lines = []
        for i in range(n_contacts):
            cid = contact0 + i
            acc = account0 + rng.randrange(n_accounts) if rng.random() < 0.7 else None
            lang = "zh" if rng.random() < 0.4 else "en"
            contact_account.append(acc)
            contact_lang.append(lang)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            lines.append(f"{cid}\t{contact_email(cid)}\t{name}\t"
                         f"{f'+86 10 5555 {i % 10000:04d}' if i % 3 == 0 else N}\t"
                         f"{account_name(acc) if acc else N}\t{lang}\t"
                         f"{N if acc is None else acc}\tf\t"
                         f"{clock(start - rng.randrange(200 * DAY))}\n")
            if len(lines) >= chunk:
                copy.write("".join(lines))
                lines.clear()
        copy.write("".join(lines))
    print(f"accounts {n_accounts:,} contacts {n_contacts:,} in {time.monotonic() - t0:.1f}s",
          flush=True)

    # -- tickets, messages, events, tags (three COPY streams fed chunk by chunk)
    subjects = {lang: [[copy_escape(s.format(p=p)) for s in pool] for p in PRODUCTS]
                for lang, pool in (("en", SUBJECTS_EN), ("zh", SUBJECTS_ZH))}
    bodies = {"en": [copy_escape(b) for b in BODY_EN], "zh": [copy_escape(b) for b in BODY_ZH]}
    replies = {"en": [copy_escape(b) for b in REPLY_EN], "zh": [copy_escape(b) for b in REPLY_ZH]}
    notes = [copy_escape(b) for b in NOTES]
    team_by_category = {c: teams[CATEGORY_TEAM.get(c, "Support")] for c in CATEGORIES}
    support = teams["Support"]
    members_by_team = {tid: users or all_agents for tid, users in members.items()}
    for tid in teams.values():
        members_by_team.setdefault(tid, all_agents)
    reason_of = {p: f"customer urgency {p}" for p, _ in PRIORITIES}
    reason_of["normal"] = "default priority normal"
    event_data = {}
    for p, _ in PRIORITIES:
        for tid in teams.values():
            event_data[p, tid] = copy_escape(json.dumps(
                {"priority": p, "priority_reason": reason_of[p], "rule": None, "team_id": tid}))

    span = now - start
    counts = {"tickets": 0, "messages": 0, "events": 0, "tags": 0, "open_like": 0}
    ids = {"message": message0, "event": event0}

    def produce(base: int) -> tuple[int, list, list, list, list]:
        """Rows of tickets base..base+chunk (runs in a helper thread, in order)."""
        mid, eid = ids["message"], ids["event"]
        n = min(chunk, tickets - base)
        pr = weighted(PRIORITIES, rng, n)
        ch = weighted(CHANNELS, rng, n)
        t_lines, m_lines, e_lines, g_lines = [], [], [], []
        for j in range(n):
            k = base + j
            tid = ticket0 + k
            created = start + (k * span) // tickets + rng.randrange(60)
            created = min(created, now - 5)
            age_days = (now - created) / DAY
            for max_age, pairs in STATUS_BY_AGE:
                if age_days < max_age:
                    status = weighted(pairs, rng, 1)[0]
                    break
            priority = pr[j]
            channel = ch[j]
            ci = rng.randrange(n_contacts)
            contact_id = contact0 + ci
            account_id = contact_account[ci]
            lang = contact_lang[ci]
            category = CATEGORIES[rng.randrange(len(CATEGORIES))]
            product_i = rng.randrange(len(PRODUCTS))
            team_id = team_by_category[category] if rng.random() < 0.8 else support
            pid, fr_s, res_s, ratio = policies[priority]
            # What happened so far, in epoch seconds (None = not yet).
            assignee = None if status == "new" else rng.choice(members_by_team[team_id])
            responded = resolved = closed = paused = None
            reopen = 0
            paused_secs = 0
            if status in ("resolved", "closed"):
                responded = created + int(fr_s * (rng.random() * 0.9 if rng.random() < 0.95
                                                   else 1.0 + rng.random() * 0.5))
                resolved = responded + int(res_s * (rng.random() * 0.9 if rng.random() < 0.95
                                                    else 1.0 + rng.random() * 0.5))
                if resolved >= now:
                    resolved = now - rng.randrange(60, 3600)
                    responded = min(responded, resolved - 30)
                if status == "closed":
                    closed = resolved + rng.randrange(DAY, 7 * DAY)
                    if closed >= now:
                        status, closed = "resolved", None
            elif status != "new":
                if status != "open" or rng.random() < 0.85:
                    limit = max(60, min(now - created, int(fr_s * 1.2)))
                    responded = created + rng.randrange(30, max(31, limit))
                    if responded >= now:
                        responded = None
                if status == "pending_customer":
                    after = responded or created
                    paused = after + rng.randrange(max(1, now - after))
                if status == "reopened":
                    reopen = 1
                    paused_secs = rng.randrange(3600, 3 * DAY)
            fr_due = created + fr_s + paused_secs
            res_due = created + res_s + paused_secs
            fr_warn = created + int(fr_s * ratio) + paused_secs
            res_warn = created + int(res_s * ratio) + paused_secs
            # The sweep (every 30 s) warns and breaches at the warning and due points;
            # a met target stops its clock. Paused clocks stopped at the pause.
            horizon = paused if paused is not None else now
            fr_end = responded if responded is not None else horizon
            res_end = resolved if resolved is not None else horizon
            fr_warned = fr_warn + rng.randrange(30) if fr_end >= fr_warn else None
            fr_breached = fr_due + rng.randrange(30) if fr_end >= fr_due else None
            res_warned = res_warn + rng.randrange(30) if res_end >= res_warn else None
            res_breached = res_due + rng.randrange(30) if res_end >= res_due else None
            active = []
            if responded is None:
                active.append((fr_warn, fr_due, fr_warned, fr_breached))
            if resolved is None:
                active.append((res_warn, res_due, res_warned, res_breached))
            if fr_breached or res_breached:
                state = "breached"
            elif paused is not None and active:
                state = "paused"
            elif not active:
                state = "met"
            elif any(now >= w for w, _, _, _ in active):
                state = "at_risk"
            else:
                state = "on_track"
            next_check = None
            if paused is None:
                for w, d, wd, bd in active:
                    point = w if wd is None else (d if bd is None else None)
                    if point is not None and (next_check is None or point < next_check):
                        next_check = point
            updated = max(x for x in (created, responded, resolved, closed, paused) if x)
            if status in OPEN_LIKE:
                counts["open_like"] += 1
            subject = subjects[lang][product_i][rng.randrange(len(subjects[lang][0]))]
            t_lines.append("\t".join((
                str(tid), subject, status, priority, reason_of[priority], channel, lang,
                category, PRODUCTS[product_i], "[]", str(contact_id),
                N if account_id is None else str(account_id), str(team_id),
                N if assignee is None else str(assignee), N, str(reopen), str(pid),
                clock(created), clock(paused), str(paused_secs),
                clock(fr_due), clock(res_due), clock(fr_warn), clock(res_warn),
                clock(responded), clock(resolved), clock(closed), clock(fr_warned),
                clock(res_warned), clock(fr_breached), clock(res_breached), state,
                clock(next_check), clock(created), clock(updated))) + "\n")
            # messages: the customer's description, then the conversation so far
            body_pool, reply_pool = bodies[lang], replies[lang]
            m_lines.append(f"{mid}\t{tid}\tcustomer\t\\N\t{contact_id}\tpublic\t{channel}\t"
                           f"{body_pool[rng.randrange(len(body_pool))]}\t{clock(created)}\n")
            mid += 1
            staff = assignee or all_agents[rng.randrange(len(all_agents))]
            if responded is not None:
                m_lines.append(f"{mid}\t{tid}\tstaff\t{staff}\t\\N\tpublic\t{channel}\t"
                               f"{reply_pool[rng.randrange(len(reply_pool))]}\t"
                               f"{clock(responded)}\n")
                mid += 1
                if rng.random() < 0.5:
                    later = responded + rng.randrange(60, 4 * 3600)
                    if later < (resolved or now):
                        m_lines.append(f"{mid}\t{tid}\tcustomer\t\\N\t{contact_id}\tpublic\t"
                                       f"{channel}\t{body_pool[rng.randrange(len(body_pool))]}"
                                       f"\t{clock(later)}\n")
                        mid += 1
                if rng.random() < 0.2:
                    m_lines.append(f"{mid}\t{tid}\tstaff\t{staff}\t\\N\tinternal\t{channel}\t"
                                   f"{notes[rng.randrange(len(notes))]}\t"
                                   f"{clock(responded + 1)}\n")
                    mid += 1
            if resolved is not None:
                m_lines.append(f"{mid}\t{tid}\tstaff\t{staff}\t\\N\tpublic\t{channel}\t"
                               f"{reply_pool[rng.randrange(len(reply_pool))]}\t"
                               f"{clock(resolved)}\n")
                mid += 1
            actor = f"staff\t{staff}\t\\N" if channel == "phone" else \
                f"customer\t\\N\t{contact_id}"
            e_lines.append(f"{eid}\t{tid}\tcreated\t{actor}\t{channel}\t"
                           f"{event_data[priority, team_id]}\t{clock(created)}\n")
            eid += 1
            if rng.random() < 0.15:
                for tag in rng.sample(TAGS, rng.randint(1, 2)):
                    g_lines.append(f"{tid}\t{tag}\n")
        ids["message"], ids["event"] = mid, eid
        return n, t_lines, m_lines, e_lines, g_lines

    # One COPY per table per chunk (a connection runs one COPY at a time); the next
    # chunk is generated in a helper thread while PostgreSQL ingests this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        bases = list(range(0, tickets, chunk))
        pending = pool.submit(produce, bases[0]) if bases else None
        for index, base in enumerate(bases):
            n, t_lines, m_lines, e_lines, g_lines = pending.result()
            if index + 1 < len(bases):
                pending = pool.submit(produce, bases[index + 1])
            for table, columns, lines in (("tickets", TICKET_COLUMNS, t_lines),
                                          ("messages", MESSAGE_COLUMNS, m_lines),
                                          ("ticket_events", EVENT_COLUMNS, e_lines),
                                          ("ticket_tags", TAG_COLUMNS, g_lines)):
                if lines:
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write("".join(lines))
            counts["tickets"] += n
            counts["messages"] += len(m_lines)
            counts["events"] += len(e_lines)
            counts["tags"] += len(g_lines)
            if (base // chunk) % 10 == 9 or base + n == tickets:
                elapsed = time.monotonic() - t0
                print(f"  {counts['tickets']:,} tickets, {counts['messages']:,} messages "
                      f"({elapsed:.1f}s, {counts['tickets'] / max(elapsed, 1e-9):,.0f} tickets/s)",
                      flush=True)
    t1 = time.monotonic()
    for ddl in restore:
        cur.execute(ddl)
    reset_sequences(cur)
    print(f"rebuilt indexes and foreign keys in {time.monotonic() - t1:.1f}s", flush=True)
    print("loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)


def make_due(conn, count: int, seed: int) -> int:
    """Make `count` open tickets due for the SLA sweep (warning point passed, unhandled)."""
    rng = random.Random(seed + 1)
    cur = conn.cursor()
    now = datetime.now(UTC).replace(microsecond=0)
    cur.execute("""SELECT t.id, t.created_at, t.status, t.first_responded_at,
                          p.first_response_minutes, p.resolution_minutes, p.warning_ratio_percent
                   FROM tickets t JOIN sla_policies p ON p.id = t.sla_policy_id
                   WHERE t.status IN ('new', 'open', 'pending_internal', 'reopened')
                     AND t.resolved_at IS NULL AND t.sla_paused_at IS NULL
                   ORDER BY random() LIMIT %s""", (count,))
    rows = cur.fetchall()
    if len(rows) < count:
        cur.execute("""SELECT t.id, t.created_at, 'open', t.first_responded_at,
                              p.first_response_minutes, p.resolution_minutes,
                              p.warning_ratio_percent
                       FROM tickets t JOIN sla_policies p ON p.id = t.sla_policy_id
                       WHERE t.status = 'pending_customer' AND t.resolved_at IS NULL
                       ORDER BY random() LIMIT %s""", (count - len(rows),))
        rows += cur.fetchall()
    if len(rows) < count:
        print(f"warning: only {len(rows)} open tickets can be made due", file=sys.stderr)
    updates = []
    for tid, created, status, responded, fr_min, res_min, ratio_pct in rows:
        ratio = ratio_pct / 100
        fr, res = timedelta(minutes=fr_min), timedelta(minutes=res_min)
        target = fr if responded is None else res
        # How long ago the warning point passed: a few seconds to 35 % of the target, so
        # about a third of the tickets are past their due time too (a breach).
        overdue = timedelta(seconds=rng.randrange(5, max(6, int(target.total_seconds() * 0.35))))
        warn_at = now - overdue
        # Keep created_at; the clock was paused long enough (sla_paused_seconds) that the
        # warning point lands at warn_at, exactly as the app's recompute() would derive it.
        started = created
        paused = warn_at - (started + target * ratio)
        if paused.total_seconds() < 0:  # too young: the ticket started earlier
            started = warn_at - target * ratio
            paused = timedelta(0)
            created = started
        paused_secs = int(paused.total_seconds())
        started_p = started + timedelta(seconds=paused_secs)
        fr_due, fr_warn = started_p + fr, started_p + fr * ratio
        res_due, res_warn = started_p + res, started_p + res * ratio
        if responded is not None and responded < created:
            responded = created + timedelta(seconds=30)
        next_check = fr_warn if responded is None else res_warn
        updates.append((tid, status, created, started, paused_secs, fr_due, fr_warn, res_due,
                        res_warn, responded, next_check))
    cur.execute("""CREATE TEMP TABLE due_tmp (id int, status text, created timestamptz,
                   started timestamptz, paused_secs int, fr_due timestamptz,
                   fr_warn timestamptz, res_due timestamptz, res_warn timestamptz,
                   responded timestamptz, next_check timestamptz) ON COMMIT DROP""")
    with cur.copy("COPY due_tmp FROM STDIN") as copy:
        for row in updates:
            copy.write_row(row)
    cur.execute("""UPDATE tickets t SET status = d.status, created_at = d.created,
                   sla_started_at = d.started, sla_paused_seconds = d.paused_secs,
                   sla_paused_at = NULL,
                   first_response_due_at = d.fr_due, first_response_warn_at = d.fr_warn,
                   resolution_due_at = d.res_due, resolution_warn_at = d.res_warn,
                   first_responded_at = d.responded,
                   first_response_warned_at = NULL, first_response_breached_at = NULL,
                   resolution_warned_at = NULL, resolution_breached_at = NULL,
                   sla_state = 'on_track', sla_next_check_at = d.next_check
                   FROM due_tmp d WHERE t.id = d.id""")
    made = cur.rowcount
    # A ticket made due again must not collide with the breach an earlier sweep recorded.
    cur.execute("DELETE FROM sla_breaches b USING due_tmp d WHERE b.ticket_id = d.id")
    cur.execute("""DELETE FROM notifications n USING due_tmp d
                   WHERE n.subject_ref = 'ticket:' || d.id""")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=0,
                        help="then make this many open tickets due for the SLA sweep")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-vacuum", action="store_true",
                        help="skip VACUUM ANALYZE after the load")
    args = parser.parse_args()
    url = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    started = time.monotonic()
    with psycopg.connect(url) as conn:
        if args.tickets > 0:
            generate(conn, args.tickets, args.seed)
            conn.commit()
            print(f"committed after {time.monotonic() - started:.1f}s", flush=True)
        refresh_agent_loads(conn)
        conn.commit()
        if args.due > 0:
            t = time.monotonic()
            made = make_due(conn, args.due, args.seed)
            conn.commit()
            print(f"made {made:,} tickets due for the SLA sweep in {time.monotonic() - t:.1f}s",
                  flush=True)
    if args.tickets > 0 and not args.no_vacuum:
        t = time.monotonic()
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("tickets", "messages", "ticket_events", "ticket_tags", "contacts",
                          "accounts", "users", "team_members"):
                conn.execute(f"VACUUM (ANALYZE) {table}")
        print(f"vacuum analyze in {time.monotonic() - t:.1f}s", flush=True)
    print(f"total {time.monotonic() - started:.1f}s", flush=True)


def refresh_agent_loads(conn) -> None:
    """Set users.open_tickets/open_load from the loaded tickets (the app keeps them current)."""
    conn.execute("""
        UPDATE users SET open_tickets = COALESCE(l.count, 0), open_load = COALESCE(l.weight, 0)
        FROM users u LEFT JOIN (
            SELECT assignee_id, count(*) AS count,
                   sum(CASE priority WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END) AS weight
            FROM tickets
            WHERE assignee_id IS NOT NULL
              AND status IN ('new', 'open', 'pending_customer', 'pending_internal', 'reopened')
            GROUP BY assignee_id) l ON l.assignee_id = u.id
        WHERE users.id = u.id""")


if __name__ == "__main__":
    main()
