"""Knowledge-base search (issue 7): search() and suggest() over 20,000 articles (half
Chinese), on PostgreSQL and on SQLite, in-process.

    .venv/bin/python bench/kb_search.py                          # both backends, 20,000 articles
    .venv/bin/python bench/kb_search.py --backend sqlite --articles 5000
    .venv/bin/python bench/kb_search.py --reuse                  # keep the loaded databases
    .venv/bin/python bench/kb_search.py --help

Setup (unless --reuse finds it): PostgreSQL: DROP/CREATE `loopdesk_bench_kb` on --pg (never
a name with "test"), migrated with `flask_migrate.upgrade`; SQLite: a fresh file
/tmp/loopdesk_bench_kb.db built with `db.create_all()`. Both get the same --articles
generated articles (half zh, half en; from word lists: varied titles, summaries, Markdown
bodies of 80–250 words mostly about 2–3 topic words each, tags; 90 % published, 80 %
public; 12 categories in two levels, 6 products; the four kinds), bulk-inserted, then
`reindex_all()` (timed) and, on PostgreSQL, VACUUM ANALYZE.

Measured: a fixed mix of 64 queries (English words, English with typos, two-character
Chinese words, Chinese and English sentences, filtered queries; public and staff) through
`knowledge_base.search.search()` (limit 20) and, for typing, 40 prefixes through
`suggest()` (limit 5); each once as warm-up, then --rounds times (default 5). The session
ends its transaction after every call, as a request would. Targets: search p50 ≤ 20 ms,
suggest p50 ≤ 30 ms on each backend.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):  # only what this script says
    os.environ.pop(_name, None)
os.environ.setdefault("SECRET_KEY", "bench-kb-search-secret-key")

SEARCH_TARGET_MS, SUGGEST_TARGET_MS = 20.0, 30.0
SQLITE_PATH = Path("/tmp/loopdesk_bench_kb.db")

EN_NOUNS = """account password invoice refund order payment subscription report export dashboard
widget integration webhook token session browser profile email notification team member role
permission project workspace calendar schedule reminder ticket queue agent customer contact
address shipment delivery warehouse product catalog price discount coupon tax currency bank
card transfer statement receipt contract plan trial license device phone tablet android iphone
app update version release backup restore database server domain certificate firewall proxy
network printer scanner camera microphone headset language timezone holiday survey feedback
rating comment attachment upload download folder file image video audio template signature
approval workflow automation trigger rule filter label tag search index cache log error
timeout limit quota storage bandwidth latency""".split()
EN_VERBS = """reset change update export import delete restore connect disconnect configure enable
disable install upgrade cancel renew refund download upload share invite remove rename merge
split archive sync verify approve reject schedule print scan troubleshoot fix recover""".split()
EN_FILLER = """the a your our this that when after before if then and or but with without from
to for on in at by it is are can will should may must not you we they every each some all
only also still again quickly slowly usually sometimes""".split()
EN_ADJ = """slow blank missing duplicate wrong failed expired locked large small new old
monthly weekly secure public private shared default custom automatic manual""".split()

ZH_WORDS = """账户 密码 发票 退款 订单 支付 订阅 报表 导出 仪表盘 集成 令牌 会话 浏览器 资料 邮箱
通知 团队 成员 角色 权限 项目 工作区 日历 提醒 工单 队列 客服 客户 联系人 地址 物流 配送 仓库
商品 目录 价格 折扣 优惠券 税费 货币 银行卡 转账 对账单 收据 合同 套餐 试用 许可证 设备 手机
平板 安卓 苹果 应用 更新 版本 备份 恢复 数据库 服务器 域名 证书 防火墙 代理 网络 打印机 扫描仪
摄像头 麦克风 耳机 语言 时区 假期 问卷 反馈 评分 评论 附件 上传 下载 文件夹 文件 图片 视频
音频 模板 签名 审批 流程 自动化 触发器 规则 筛选 标签 搜索 索引 缓存 日志 错误 超时 限额 存储
带宽 延迟 登录 注册 验证码 实名认证 绑定 解绑 修改 删除 设置 申请 入口 页面 按钮 提交 取消
续费 升级 安装 卸载 同步 分享 邀请 合并 归档 审核 打印 修复 找回""".split()
ZH_FILLER = """如果 您 可以 需要 请 在 后 之前 然后 并且 或者 但是 没有 已经 无法 不能 时候 我们
每次 所有 只有 还是 再次 立即 通常 有时 一直 为什么 怎么 如何 哪里 的 了 和 是 就 都 也""".split()
ZH_ENDINGS = "。，；！？"

PRODUCTS = ("Shop", "Mobile app", "Analytics", "Billing", "API", "Desktop")
KINDS = ("howto", "troubleshooting", "known_issue", "root_cause")
SECTIONS = {"howto": (), "troubleshooting": ("symptoms", "cause", "steps"),
            "known_issue": ("symptoms", "workaround"),
            "root_cause": ("problem", "root_cause", "fix", "prevention")}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# ---------------------------------------------------------------------------- data

# Articles are about something: most nouns of an article come from its 2–3 topic words,
# a few from anywhere (so a common word like "password" is in a few percent of the
# articles, as in a real knowledge base, not in half of them).
TOPIC_SHARE = 0.85


def en_sentence(rng: random.Random, topic: list[str]) -> str:
    words = []
    for _ in range(rng.randint(6, 14)):
        pick = rng.random()
        if pick < 0.45:
            words.append(rng.choice(EN_FILLER))
        elif pick < 0.8:
            words.append(rng.choice(topic if rng.random() < TOPIC_SHARE else EN_NOUNS))
        else:
            words.append(rng.choice(EN_VERBS if pick < 0.92 else EN_ADJ))
    return " ".join(words).capitalize() + "."


def zh_sentence(rng: random.Random, topic: list[str]) -> str:
    parts = [rng.choice(ZH_FILLER) if rng.random() < 0.45 else
             rng.choice(topic if rng.random() < TOPIC_SHARE else ZH_WORDS)
             for _ in range(rng.randint(6, 14))]
    return "".join(parts) + rng.choice(ZH_ENDINGS)


def article_text(rng: random.Random, nouns: list[str], sentence, title: str, join: str) -> dict:
    topic = rng.sample(nouns, 3)
    return {"title": title.format(noun=topic[0], other=topic[1]),
            "summary": join.join(sentence(rng, topic) for _ in range(2)),
            "paragraphs": [join.join(sentence(rng, topic) for _ in range(rng.randint(3, 7)))
                           for _ in range(rng.randint(2, 4))],
            "tags": topic[:2],
            "section": lambda: join.join(sentence(rng, topic) for _ in range(3))}


def en_article(rng: random.Random) -> dict:
    verb, adjective = rng.choice(EN_VERBS), rng.choice(EN_ADJ)
    title = rng.choice((f"How to {verb} your {{noun}}", f"{{noun}} {adjective} after {{other}} "
                        f"{rng.choice(EN_VERBS)}", f"Cannot {verb} {{noun}}",
                        f"{verb} a {{noun}} {{other}}", "{noun} {other} FAQ"))
    made = article_text(rng, EN_NOUNS, en_sentence, title, " ")
    made["title"] = made["title"][0].upper() + made["title"][1:]
    return made


def zh_article(rng: random.Random) -> dict:
    verb = rng.choice(ZH_WORDS)
    title = rng.choice((f"如何{verb}{{noun}}", "{noun}{other}常见问题", f"无法{verb}{{noun}}",
                        f"{{noun}}出现{rng.choice(('错误', '超时', '延迟'))}怎么办",
                        f"{verb}{{noun}}说明"))
    return article_text(rng, ZH_WORDS, zh_sentence, title, "")


def generate_rows(count: int, seed: int, category_ids: list[int]) -> tuple[list, list]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    articles, products = [], []
    for number in range(1, count + 1):
        language = "zh" if number % 2 else "en"
        made = zh_article(rng) if language == "zh" else en_article(rng)
        kind = rng.choices(KINDS, weights=(6, 2, 1, 1))[0]
        body = "\n\n".join(("## " if i and rng.random() < 0.3 else "") + paragraph
                           if i else paragraph for i, paragraph in enumerate(made["paragraphs"]))
        if rng.random() < 0.3:
            body += "\n\n- " + "\n- ".join(made["section"]().split("。" if language == "zh"
                                                                 else ". ")[:3])
        articles.append({
            "id": number, "kind": kind, "title": made["title"][:200],
            "summary": made["summary"][:500], "body": body,
            "sections": {key: made["section"]() for key in SECTIONS[kind]},
            "known_issue_status": "investigating" if kind == "known_issue" else None,
            "category_id": rng.choice(category_ids), "tags": made["tags"],
            "language": language,
            "audience": "public" if rng.random() < 0.8 else "internal",
            "status": "published" if rng.random() < 0.9 else rng.choice(("draft", "in_review",
                                                                          "archived")),
            "version": 1, "view_count": 0, "helpful_yes": 0, "helpful_no": 0,
            "created_at": now, "updated_at": now, "published_at": now})
        for product in rng.sample(PRODUCTS, rng.randint(0, 2)):
            products.append({"article_id": number, "product": product})
    return articles, products


def load(url: str, args: argparse.Namespace, create) -> float:
    """Schema, categories, articles, products; then reindex_all (returns its seconds)."""
    from service import create_app
    from service.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                      "LOG_LEVEL": "WARNING", "REDIS_URL": None, "MAIL_SERVER": None})
    with app.app_context():
        create(app)
        from knowledge_base.models import Article, ArticleProduct, Category
        from knowledge_base.search import reindex_all

        category_ids = []
        for top in range(4):
            parent = Category(slug=f"top-{top}", name_en=f"Top {top}", name_zh=f"顶级{top}")
            db.session.add(parent)
            db.session.flush()
            category_ids.append(parent.id)
            for child in range(2):
                node = Category(slug=f"top-{top}-{child}", name_en=f"Sub {top}.{child}",
                                name_zh=f"子类{top}.{child}", parent_id=parent.id)
                db.session.add(node)
                db.session.flush()
                category_ids.append(node.id)
        articles, products = generate_rows(args.articles, args.seed, category_ids)
        log(f"inserting {len(articles):,} articles, {len(products):,} product rows")
        for start in range(0, len(articles), 2000):
            db.session.execute(db.insert(Article), articles[start:start + 2000])
        db.session.execute(db.insert(ArticleProduct), products)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("SELECT setval(pg_get_serial_sequence('kb_articles', "
                                       "'id'), (SELECT max(id) FROM kb_articles))"))
        log("reindex_all()")
        started = time.perf_counter()
        reindex_all()
        db.session.commit()
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return seconds


def setup_sqlite(args: argparse.Namespace) -> str:
    url = f"sqlite:///{SQLITE_PATH}"
    if args.reuse and SQLITE_PATH.exists():
        return url
    SQLITE_PATH.unlink(missing_ok=True)

    def create(app):
        from service.extensions import db
        db.create_all()

    log(f"SQLite {SQLITE_PATH}")
    seconds = load(url, args, create)
    log(f"SQLite reindex_all: {seconds:.1f} s")
    return url


def setup_postgres(args: argparse.Namespace) -> str:
    import psycopg

    url = f"postgresql://{args.pg}/{args.db}"
    with psycopg.connect(f"postgresql://{args.pg}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (args.db,)).fetchone()
        if args.reuse and exists:
            return url
        log(f"creating database {args.db}")
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')

    def create(app):
        from flask_migrate import upgrade
        upgrade(directory=app.config["MIGRATIONS_DIR"])

    seconds = load(url, args, create)
    log(f"PostgreSQL reindex_all: {seconds:.1f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return url


# ---------------------------------------------------------------------------- queries

def queries() -> list[tuple[str, dict]]:
    """(group, SearchQuery fields): the fixed mix."""
    english = ["password", "refund", "invoice", "export", "webhook", "timeout", "certificate",
               "android", "subscription", "printer", "reset password", "export report",
               "cancel subscription", "bank transfer"]
    typos = ["pasword", "refnd", "invocie", "exprot", "subscripton", "certficate", "andriod",
             "pasword reset", "refund polcy", "notifcation email"]
    zh_words = ["退款", "发票", "密码", "登录", "订单", "导出", "超时", "手机", "权限", "缓存"]
    zh_sentences = ["我想申请退款但是找不到入口", "为什么我的发票无法下载",
                    "手机应用登录后一直超时", "如何修改账户密码", "导出报表的时候出现错误",
                    "优惠券在哪里使用",
                    "银行卡转账没有到账怎么办", "设置时区以后日历不对"]
    en_sentences = ["export report times out every time", "i cannot reset my password",
                    "where do i download my invoice", "the app crashes after update on android",
                    "how to cancel my subscription and get a refund",
                    "webhook does not fire when a ticket is created"]
    mix = [("en word", {"text": t}) for t in english]
    mix += [("en typo", {"text": t}) for t in typos]
    mix += [("zh 2-char", {"text": t}) for t in zh_words]
    mix += [("zh sentence", {"text": t}) for t in zh_sentences]
    mix += [("en sentence", {"text": t}) for t in en_sentences]
    mix += [("filtered", q) for q in (
        {"text": "refund", "language": "en"}, {"text": "退款", "language": "zh"},
        {"text": "password", "category_id": 1}, {"text": "发票", "category_id": 4},
        {"text": "export", "product": "Analytics"}, {"text": "登录", "product": "Mobile app"},
        {"text": "timeout", "kind": "troubleshooting"},
        {"text": "refund", "public_only": False, "statuses": ("published", "draft")},
        {"text": "订单", "public_only": False, "audience": "internal"},
        {"text": "certificate", "language": "en", "product": "API"},
        {"text": "报表超时", "language": "zh"},
        {"text": "backup restore", "public_only": False, "kind": "howto"},
        {"text": "密码 找回", "language": "zh"},
        {"text": "invoice download", "product": "Billing"},
        {"text": "手机", "kind": "known_issue"},
        {"text": "database", "public_only": False})]
    return mix


def typing() -> list[tuple[str, str]]:
    """(group, text) prefixes as a customer types them."""
    words = ["password reset", "refund policy", "export report", "cancel subscription",
             "webhook", "pasword", "invoice download", "android app crash"]
    out = [("en prefix", word[:n]) for word in words for n in (3, 5, len(word)) if n <= len(word)]
    zh = ["退款", "发票下载", "我想申请退款", "手机登录超时", "修改密码"]
    out += [("zh prefix", text[:n]) for text in zh for n in (2, 4, len(text)) if n <= len(text)]
    return out[:40]


def measure(url: str, args: argparse.Namespace) -> list[dict]:
    from knowledge_base.search import SearchQuery, search, suggest
    from service import create_app
    from service.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                      "LOG_LEVEL": "WARNING", "REDIS_URL": None, "MAIL_SERVER": None})
    rows = []
    with app.app_context():
        def timed(call) -> tuple[float, object]:
            started = time.perf_counter()
            result = call()
            elapsed = (time.perf_counter() - started) * 1000
            db.session.rollback()  # end the transaction, as a request would
            return elapsed, result

        cases = [("search", group, (lambda q=q: search(SearchQuery(**q, limit=20))), q["text"])
                 for group, q in queries()]
        cases += [("suggest", group, (lambda t=t: suggest(t, limit=5)), t)
                  for group, t in typing()]
        for _, _, call, _ in cases:  # warm-up: each once
            timed(call)
        samples: dict[tuple[str, str], list[float]] = {}
        slowest: dict[str, tuple[float, str]] = {}
        empty = 0
        for _ in range(args.rounds):
            for operation, group, call, label in cases:
                elapsed, result = timed(call)
                samples.setdefault((operation, group), []).append(elapsed)
                samples.setdefault((operation, "all"), []).append(elapsed)
                if elapsed > slowest.get(operation, (0.0, ""))[0]:
                    slowest[operation] = (elapsed, label)
                hits = result.hits if operation == "search" else result
                empty += not hits
        for (operation, group), values in samples.items():
            rows.append({"operation": operation, "group": group, "n": len(values),
                         "p50": statistics.median(values), "p95": percentile(values, 0.95),
                         "max": max(values)})
        rows.append({"slowest": slowest, "empty": empty // args.rounds})
        db.engine.dispose()
    return rows


def machine() -> str:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{platform.platform()}; {os.cpu_count()} CPUs ({model}); Python "
            f"{platform.python_version()}; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def report(backend: str, rows: list[dict]) -> None:
    extra = rows[-1]
    print(f"\n### {backend}\n")
    print("| Operation | Queries | Samples | p50 ms | p95 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|")
    for row in sorted(rows[:-1], key=lambda r: (r["operation"], r["group"] != "all",
                                                 r["group"])):
        target = SEARCH_TARGET_MS if row["operation"] == "search" else SUGGEST_TARGET_MS
        mark = " ✔" if row["group"] == "all" and row["p50"] <= target else (
            " ✘" if row["group"] == "all" else "")
        print(f"| {row['operation']} | {row['group']} | {row['n']} | **{row['p50']:.1f}**{mark}"
              f" | {row['p95']:.1f} | {row['max']:.1f} |")
    for operation, (elapsed, label) in extra["slowest"].items():
        print(f"\nslowest {operation}: {elapsed:.1f} ms for {label!r}")
    print(f"calls with no hit per round: {extra['empty']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="loopdesk_bench_kb")
    parser.add_argument("--reuse", action="store_true",
                        help="keep already loaded databases (same --articles assumed)")
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; articles: {args.articles:,} "
          f"(half zh); targets: search p50 ≤ {SEARCH_TARGET_MS:g} ms, suggest p50 ≤ "
          f"{SUGGEST_TARGET_MS:g} ms")
    backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    for backend in backends:
        url = setup_postgres(args) if backend == "postgresql" else setup_sqlite(args)
        log(f"measuring {backend}")
        report(backend, measure(url, args))


if __name__ == "__main__":
    main()
