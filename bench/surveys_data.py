"""Bulk history for bench/surveys.py: accounts, contacts, sales reps, survey invitations and
answers, recovery follow-ups and opportunities, written with COPY (no ORM, no services).

Ids are chosen here (from each table's max(id) + 1) so rows can point at each other before
they exist; the sequences are reset afterwards. Everything happens in the caller's
transaction. Sizes at --scale 1 (each multiplied by the scale):

- 2,000 accounts (5 % VIP, 80 % with a sales owner) and 20,000 contacts (40 % zh); the last
  FRESH contacts (`fresh…@bench-fresh.example.com`) get no history, so the sweep and the
  survey pages can still invite them (fatigue window);
- 20 sales reps `bench-sales{i}@bench.loopdesk.test` (rep 1 is the measured one);
- 200,000 CSAT invitations (ticket_closed) over 12 months: 85 % sent, 15 % skipped; ~60,000
  answered (scores 1–5 skewed high, dimensions on 60 %, comments on 30 %); team, agent,
  product and channel as if copied from a ticket; one in 200 points at a real ticket;
- 50,000 NPS invitations (nps_schedule, no team), ~15,000 answered (0–10);
- 2,000 recovery follow-ups on low answers (the newest 150 open, the rest done, most with
  a re-survey, 45 % of those answered);
- 10,000 opportunities over the accounts (40 % open: one per account and kind; 10 % in
  the pool), 500 of them owned by rep 1, each with 1–2 evidence rows and 1–2 events.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from datetime import UTC, datetime

from generate import DAY, PRODUCTS, Clock, check_schema, copy_escape, next_id

N = r"\N"
HOUR = 3600
FRESH = 2000  # contacts without any survey history (not scaled)
REPS = 20
REP_ONE_OPPORTUNITIES = 500

COMMENTS_EN = [
    "Quick answer, thank you.", "The agent was friendly but it took three days.",
    "Problem solved after the firmware update.", "Still not working, very disappointed.",
    "Great support as always!", "We need more seats for the new office next month.",
    "We don't need more seats, just a working login.", "Please call me back about the invoice.",
    "Nobody answered for two days.", "Would recommend you to our partners.",
]
COMMENTS_ZH = [
    "回复很快，谢谢。", "客服态度很好，但是处理时间太长。", "升级固件之后问题解决了。",
    "问题还是没有解决，很失望。", "一如既往的好服务！", "下个月新办公室需要增加账号。",
    "不需要增加账号，只要能正常登录就行。", "发票的问题请给我回个电话。",
    "两天都没人回复。", "会推荐给我们的合作伙伴。",
]
# Detection texts: neutral sentences, sentences that must trigger, negated ones.
NEUTRAL_EN = [
    "Hello team, since the last update the device restarts on its own every few hours.",
    "We tried a power cycle and a different cable but nothing helped, logs are attached.",
    "Our users cannot sign in since this morning and the page shows an unexpected error.",
    "Could you explain how the retention settings work in the admin console?",
    "Throughput dropped from 900 Mbit/s to about 50 Mbit/s after the configuration change.",
    "Thanks for the quick reply yesterday, the replacement unit arrived in good shape.",
    "The site opens next week, so we would appreciate an answer before Friday.",
]
SIGNAL_EN = [
    "We are growing fast and need more seats for the sales team.",
    "We keep hitting the limit on storage, can you raise the limit for us?",
    "Is single sign-on available on the enterprise plan?",
    "Do you offer a backup service for the configuration data?",
    "Frankly we are looking for alternatives if this is not fixed.",
    "Management asked me whether we should upgrade our plan.",
]
NEGATED_EN = [
    "We don't need more seats, just a working login.",
    "We will not switch to another vendor, but please fix this.",
    "No need for extra storage, the issue is the firmware.",
]
NEUTRAL_ZH = [
    "你好，升级之后设备会自己重启，我们换了电源和网线都没有用，日志已附上。",
    "今天早上开始用户都登录不了，输入密码之后页面报错，请尽快帮忙看一下。",
    "年费被扣了两次，麻烦核对一下发票并退回重复的款项。",
    "修改配置之后速度从九百兆掉到五十兆左右，我们这边没有其他改动。",
    "感谢昨天的快速回复，换货的设备已经收到了。",
    "下周就要开业，希望周五之前能给我们一个答复。",
]
SIGNAL_ZH = [
    "我们团队扩大了，需要增加账号。", "存储空间不足，能不能帮我们扩容？",
    "请问企业版支持单点登录吗？", "你们有数据备份的服务吗？",
    "如果还是解决不了，我们会考虑其他厂商。", "老板问我们要不要升级套餐。",
]
NEGATED_ZH = ["不需要增加账号，只要能正常登录就行。", "我们暂不扩容，先把问题解决。",
              "没有换供应商的打算，但请尽快修复。"]


def _fmt(value) -> str:
    if value is None or value == N:  # Clock gives N for a missing time
        return N
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return copy_escape(value)
    return str(value)


def copy_rows(cur, table: str, columns: list[str], rows: list[tuple], chunk: int = 20000) -> None:
    """COPY the rows (tuples in column order; strings escaped here) into the table."""
    check_schema(cur, table, columns)
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for start in range(0, len(rows), chunk):
            copy.write("".join("\t".join(_fmt(v) for v in row) + "\n"
                               for row in rows[start:start + chunk]))


def _weighted(rng: random.Random, pairs: list[tuple]) -> object:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def load_history(conn, scale: float, seed: int) -> dict:
    """Write the whole history (see the module docstring); returns the sizes written."""
    rng = random.Random(seed)
    now_dt = datetime.now(UTC).replace(microsecond=0)
    now = int(now_dt.timestamp())
    start = now - 365 * DAY
    clock = Clock(start // DAY - 2, now // DAY + 70)
    cur = conn.cursor()
    cur.execute("SET LOCAL synchronous_commit = off")
    t0 = time.monotonic()
    sizes: dict[str, int] = {}

    # -- staff: teams and their members (bench/generate.py made them), sales reps
    cur.execute("SELECT id, lead_id FROM teams WHERE lead_id IS NOT NULL ORDER BY id")
    team_leads = dict(cur.fetchall())
    cur.execute("""SELECT tm.team_id, tm.user_id FROM team_members tm JOIN users u
                   ON u.id = tm.user_id WHERE u.role IN ('agent', 'lead') ORDER BY 1, 2""")
    members: dict[int, list[int]] = {}
    for team_id, user_id in cur.fetchall():
        members.setdefault(team_id, []).append(user_id)
    teams = sorted(members)
    support = teams[0]
    team_weights = [(team, 40 if team == support else 60 / max(1, len(teams) - 1))
                    for team in teams]
    reps = []
    for i in range(1, REPS + 1):
        cur.execute("""INSERT INTO users (email, name, password_hash, role, is_active, locale,
                       availability, max_open_tickets, created_at)
                       VALUES (%s, %s, NULL, 'sales', true, %s, 'available', 0, %s)
                       RETURNING id""",
                    (f"bench-sales{i}@bench.loopdesk.test", f"Sales Rep {i}",
                     "zh" if i % 2 else "en", now_dt))
        reps.append(cur.fetchone()[0])
    cur.execute("SELECT id FROM tickets ORDER BY id")
    ticket_ids = [row[0] for row in cur.fetchall()]

    # -- accounts and contacts
    n_accounts, n_contacts = round(2000 * scale), round(20000 * scale)
    account0, contact0 = next_id(cur, "accounts"), next_id(cur, "contacts")
    accounts, vip_owner = [], {}
    for i in range(n_accounts):
        aid = account0 + i
        vip = rng.random() < 0.05
        owner = reps[i % REPS] if rng.random() < 0.8 else None
        if vip:
            vip_owner[aid] = owner
        accounts.append((aid, f"Survey Account {i:05d} Ltd", "vip" if vip else "standard",
                         owner, None, clock(start - rng.randrange(400 * DAY))))
    copy_rows(cur, "accounts", ["id", "name", "tier", "sales_owner_id", "dedicated_agent_id",
                                "created_at"], accounts)
    contacts, history_contacts = [], []
    account_contacts: dict[int, list[int]] = {}
    for i in range(n_contacts + FRESH):
        cid = contact0 + i
        fresh = i >= n_contacts
        acc = account0 + rng.randrange(n_accounts) if rng.random() < 0.9 else None
        lang = "zh" if rng.random() < 0.4 else "en"
        email = (f"fresh{i - n_contacts}@bench-fresh.example.com" if fresh
                 else f"surveyed{i}@bench-survey.example.com")
        contacts.append((cid, email, f"Customer {i}", None, None, lang, acc,
                         False, clock(start - rng.randrange(200 * DAY))))
        if not fresh:
            history_contacts.append((cid, acc, lang))
            if acc is not None:
                account_contacts.setdefault(acc, []).append(cid)
    copy_rows(cur, "contacts", ["id", "email", "name", "phone", "company", "language",
                                "account_id", "email_bouncing", "created_at"], contacts)
    sizes.update(accounts=n_accounts, contacts=n_contacts, fresh_contacts=FRESH, reps=REPS)

    # -- invitations and responses
    inv_cols = ["id", "kind", "trigger", "status", "skip_reason", "contact_id", "account_id",
                "ticket_id", "team_id", "agent_id", "product", "channel", "language",
                "campaign_id", "recovery_id", "token_hash", "send_at", "sent_at", "expires_at",
                "opened_at", "answered_at", "created_at"]
    resp_cols = ["id", "invitation_id", "kind", "contact_id", "account_id", "ticket_id",
                 "team_id", "agent_id", "product", "channel", "campaign_id", "score",
                 "attitude", "efficiency", "outcome", "comment", "ip", "user_agent",
                 "created_at", "updated_at", "edit_until"]
    inv0, resp0 = next_id(cur, "survey_invitations"), next_id(cur, "survey_responses")
    invitations: list[tuple] = []
    responses: list[tuple] = []
    low: list[tuple] = []  # (response row index) of answers that call for recovery
    n_csat, n_nps = round(200000 * scale), round(50000 * scale)
    history_tickets = ticket_ids[: len(ticket_ids) // 3]
    ticket_step = max(1, n_csat // max(1, len(history_tickets)))
    csat_scores = [(5, 55), (4, 22), (3, 10), (2, 6), (1, 7)]
    nps_scores = [(10, 25), (9, 20), (8, 16), (7, 14), (6, 7), (5, 6), (4, 4), (3, 3),
                  (2, 2), (1, 1), (0, 2)]
    channels = [("email", 45), ("web", 20), ("portal", 15), ("chat", 10), ("phone", 10)]

    def invite(kind: str, trigger: str, contact: tuple, ticket: int | None, team: int | None,
               agent: int | None, product: str | None, channel: str | None, sent: int,
               answer_share: float, scores: list[tuple], recovery_id: int | None = None,
               skip_share: float = 0.15, force_answer: bool | None = None) -> int | None:
        """One invitation (and its response when answered); the response's row index."""
        iid = inv0 + len(invitations)
        cid, acc, lang = contact
        if rng.random() < skip_share:
            reason = _weighted(rng, [("fatigue", 80), ("unsubscribed", 10), ("bouncing", 5),
                                     ("no_email", 5)])
            invitations.append((iid, kind, trigger, "skipped", reason, cid, acc, ticket, team,
                                agent, product, channel, lang, None, recovery_id, None,
                                clock(sent), None, None, None, None, clock(sent - 3600)))
            return None
        answered = rng.random() < answer_share if force_answer is None else force_answer
        answered_at = sent + int(rng.random() ** 3 * 72 * HOUR) + 60 if answered else None
        if answered_at is not None and answered_at >= now:
            answered = False
            answered_at = None
        opened = answered_at - 30 if answered else (
            sent + rng.randrange(1, 48 * HOUR) if rng.random() < 0.2 else None)
        if opened is not None and opened >= now:
            opened = None
        token = hashlib.sha256(f"bench-history-{iid}".encode()).hexdigest()
        invitations.append((iid, kind, trigger, "answered" if answered else "sent", None, cid,
                            acc, ticket, team, agent, product, channel, lang, None,
                            recovery_id, token, clock(sent), clock(sent),
                            clock(sent + 30 * DAY), clock(opened), clock(answered_at),
                            clock(sent - 3600)))
        if not answered:
            return None
        score = _weighted(rng, scores)
        dims = [None, None, None]
        comments = COMMENTS_ZH if lang == "zh" else COMMENTS_EN
        comment = rng.choice(comments) if rng.random() < (0.3 if kind == "csat" else 0.5) \
            else None
        if kind == "csat" and rng.random() < 0.6:
            dims = [max(1, min(5, score + rng.choice((-1, 0, 0, 1)))) for _ in range(3)]
        rid = resp0 + len(responses)
        responses.append((rid, iid, kind, cid, acc, ticket, team, agent, product, channel,
                          None, score, *dims, comment, "203.0.113.7",
                          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
                          clock(answered_at), clock(answered_at),
                          clock(answered_at + 24 * HOUR)))
        if (kind == "csat" and score <= 2) or (kind == "nps" and score <= 6):
            low.append((len(responses) - 1, answered_at, kind, score, cid, acc, ticket, team))
        return len(responses) - 1

    # Made in the order they were sent, as the app makes them: ids (and the rows' places
    # in the table) follow time, which is what a period's index range scan relies on.
    planned = sorted([(now - rng.randrange(365 * DAY), "csat") for _ in range(n_csat)]
                     + [(now - rng.randrange(365 * DAY), "nps") for _ in range(n_nps)])
    csat_index = ticket_index = 0
    for sent, kind in planned:
        if kind == "nps":
            invite("nps", "nps_schedule", rng.choice(history_contacts), None, None, None, None,
                   None, sent, 15000 / (50000 * 0.9), nps_scores, skip_share=0.1)
            continue
        team = _weighted(rng, team_weights)
        ticket = None
        if csat_index % ticket_step == 0 and ticket_index < len(history_tickets):
            ticket = history_tickets[ticket_index]
            ticket_index += 1
        csat_index += 1
        invite("csat", "ticket_closed", rng.choice(history_contacts), ticket, team,
               rng.choice(members[team]), rng.choice(PRODUCTS), _weighted(rng, channels),
               sent, 60000 / (200000 * 0.85), csat_scores)
    sizes.update(csat_invitations=n_csat, nps_invitations=n_nps)

    # -- recovery follow-ups (and their re-surveys)
    n_recovery = min(round(2000 * scale), len(low))
    chosen = sorted(rng.sample(low, n_recovery), key=lambda row: row[1])
    rec0 = next_id(cur, "recovery_follow_ups")
    follow_ups: list[tuple] = []
    outcomes = [("resolved", 50), ("partially", 25), ("not_resolved", 15), ("unreachable", 10)]
    for index, (row, answered_at, kind, score, cid, acc, ticket, team) in enumerate(chosen):
        fid = rec0 + index
        owner = team_leads.get(team) or team_leads.get(support)
        manager = vip_owner.get(acc)
        due = answered_at + 24 * HOUR
        if index >= n_recovery - 150 or answered_at > now - 2 * DAY:
            follow_ups.append((fid, responses[row][0], kind, score, cid, acc, ticket, team,
                               owner, manager, "open", clock(due), None, None, None, None,
                               None, None, None, clock(answered_at)))
            continue
        closed = min(answered_at + rng.randrange(HOUR, 40 * HOUR), now - HOUR)
        resurvey, won_back = None, None
        send = closed + 3 * DAY
        if send < now - HOUR and rng.random() < 0.9:
            resurvey = inv0 + len(invitations)
            answered_row = invite(kind, "recovery", (cid, acc, "en"), ticket, team, None, None,
                                  None, send, 0.45,
                                  [(5, 40), (4, 25), (3, 15), (2, 10), (1, 10)] if kind == "csat"
                                  else [(9, 25), (8, 25), (7, 15), (5, 20), (3, 15)],
                                  recovery_id=fid, skip_share=0.0)
            if answered_row is not None:
                answer = responses[answered_row][11]
                won_back = answer >= (4 if kind == "csat" else 7)
        follow_ups.append((fid, responses[row][0], kind, score, cid, acc, ticket, team, owner,
                           manager, "done", clock(due), None, _weighted(rng, outcomes),
                           "Called the customer; explained the fix and offered a credit.",
                           clock(closed), owner, resurvey, won_back, clock(answered_at)))
    copy_rows(cur, "survey_invitations", inv_cols, invitations)
    copy_rows(cur, "survey_responses", resp_cols, responses)
    copy_rows(cur, "recovery_follow_ups", [
        "id", "response_id", "kind", "score", "contact_id", "account_id", "ticket_id",
        "team_id", "owner_id", "account_manager_id", "status", "due_at", "overdue_notified_at",
        "outcome", "note", "closed_at", "closed_by_id", "resurvey_invitation_id", "won_back",
        "created_at"], follow_ups)
    sizes.update(invitations=len(invitations), responses=len(responses),
                 recovery_follow_ups=len(follow_ups))
    print(f"surveys: {len(invitations):,} invitations, {len(responses):,} responses, "
          f"{len(follow_ups):,} follow-ups in {time.monotonic() - t0:.1f}s", flush=True)

    # -- opportunities, evidence, events
    n_opp = round(10000 * scale)
    kinds = ["upsell", "cross_sell", "referral", "renewal", "churn_risk"]
    sources = {"upsell": ["ticket_signal", "csat", "nps_promoter"],
               "cross_sell": ["ticket_signal"], "referral": ["nps_promoter"],
               "renewal": ["manual", "vip_revisit"],
               "churn_risk": ["csat", "ticket_signal", "vip_revisit"]}
    pairs = [(account0 + a, kind) for a in range(n_accounts) for kind in kinds]
    rng.shuffle(pairs)
    opp0, ev0, event0 = (next_id(cur, "opportunities"), next_id(cur, "opportunity_evidence"),
                         next_id(cur, "opportunity_events"))
    opps, evidence, events = [], [], []
    response_ids = [row[0] for row in responses]
    specs = []
    for i in range(n_opp):
        r = rng.random()
        status = ("new" if r < 0.2 else "contacted" if r < 0.32 else "qualified" if r < 0.4
                  else "won" if r < 0.75 else "lost")
        if status in ("new", "contacted", "qualified"):
            account, kind = pairs.pop()  # one open opportunity per account and kind
        else:
            account, kind = account0 + rng.randrange(n_accounts), rng.choice(kinds)
        owner = reps[0] if i < REP_ONE_OPPORTUNITIES else rng.choice(reps[1:])
        returned_by = returned_at = None
        if status == "new" and rng.random() < 0.5:  # untouched past its deadline: the pool
            created = now - rng.randrange(DAY + HOUR, 60 * DAY)
            returned_by, owner, returned_at = owner, None, created + DAY
        elif status == "new":
            created = now - rng.randrange(60, 20 * HOUR)
        else:
            created = now - rng.randrange(2 * DAY, 365 * DAY)
        contacted = closed = None
        if status != "new":
            contacted = created + rng.randrange(HOUR, 40 * HOUR)
        if status in ("won", "lost"):
            closed = min(contacted + rng.randrange(DAY, 60 * DAY), now - HOUR)
        specs.append((created, i, status, account, kind, owner, returned_by, returned_at,
                      contacted, closed))
    # Ids in creation order, as the app gives them.
    specs.sort()
    for index, (created, i, status, account, kind, owner, returned_by, returned_at, contacted,
                closed) in enumerate(specs):
        oid = opp0 + index
        source = rng.choice(sources[kind])
        product = rng.choice(PRODUCTS) if kind in ("upsell", "cross_sell") else None
        value = rng.randrange(1, 200) * 500
        contact = (account_contacts.get(account) or [None])[0]
        opps.append((oid, account, contact, kind, source, status,
                     f"Customer asked for more seats: \"We need {rng.randrange(5, 80)} more "
                     "seats for the new office.\"", json.dumps([product] if product else []),
                     value, value if status == "won" else None,
                     "Budget frozen" if status == "lost" else None, owner, returned_by,
                     clock(created + DAY), clock(contacted), clock(returned_at), clock(closed),
                     clock(created), clock(closed or contacted or returned_at or created)))
        ref_kind = "survey_response" if source in ("csat", "nps_promoter") else "ticket"
        for j in range(1 + (i % 2)):
            ref = rng.choice(response_ids) if ref_kind == "survey_response" \
                else rng.choice(ticket_ids)
            evidence.append((ev0 + len(evidence), oid, ref_kind, ref, f"rule_{kind}_{j}",
                             "more seats", "We need 20 more seats for the new office.",
                             clock(created)))
        events.append((event0 + len(events), oid, "created", None,
                       json.dumps({"source": source, "owner_id": owner}), clock(created)))
        if contacted is not None:
            events.append((event0 + len(events), oid, "status_changed", owner,
                           json.dumps({"from": "new", "to": "contacted"}), clock(contacted)))
    copy_rows(cur, "opportunities", [
        "id", "account_id", "contact_id", "kind", "source", "status", "reason",
        "suggested_products", "estimated_value", "won_value", "lost_reason", "owner_id",
        "returned_by_id", "first_contact_due_at", "contacted_at", "returned_to_pool_at",
        "closed_at", "created_at", "updated_at"], opps)
    copy_rows(cur, "opportunity_evidence", ["id", "opportunity_id", "kind", "ref_id", "rule",
                                            "phrase", "excerpt", "created_at"], evidence)
    copy_rows(cur, "opportunity_events", ["id", "opportunity_id", "kind", "actor_id", "data",
                                          "at"], events)
    sizes.update(opportunities=len(opps), evidence=len(evidence), opportunity_events=len(events))
    for table in ("accounts", "contacts", "survey_invitations", "survey_responses",
                  "recovery_follow_ups", "opportunities", "opportunity_evidence",
                  "opportunity_events"):
        cur.execute(f"""SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               coalesce((SELECT max(id) FROM {table}), 0) + 1, false)""")
    print(f"history loaded in {time.monotonic() - t0:.1f}s: {sizes}", flush=True)
    return sizes


def detection_texts(count: int, seed: int) -> list[str]:
    """`count` customer texts of 100–1,000 characters: 40 % English, 40 % Chinese, 20 %
    mixed; about a third with a phrase that should fire, a sixth with a negated one."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        target = rng.randint(100, 1000)
        pick = i % 5
        pools = ([(NEUTRAL_EN, SIGNAL_EN, NEGATED_EN)] if pick < 2 else
                 [(NEUTRAL_ZH, SIGNAL_ZH, NEGATED_ZH)] if pick < 4 else
                 [(NEUTRAL_EN, SIGNAL_EN, NEGATED_EN), (NEUTRAL_ZH, SIGNAL_ZH, NEGATED_ZH)])
        parts: list[str] = []
        roll = rng.random()
        length = 0
        while length < target:
            neutral, signal, negated = rng.choice(pools)
            if not parts and roll < 0.33:
                sentence = rng.choice(signal)
            elif not parts and roll < 0.5:
                sentence = rng.choice(negated)
            else:
                sentence = rng.choice(neutral)
            parts.append(sentence)
            length += len(sentence) + 1
        rng.shuffle(parts)
        texts.append(" ".join(parts)[: max(target, 100)])
    return texts
