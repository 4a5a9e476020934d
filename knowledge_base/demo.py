"""Demo help articles: bilingual categories and articles of every kind, written through the
services (so they have versions and search rows), mostly published and public."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.auth.models import Role, User
from service.extensions import db

from knowledge_base.articles import create_article, set_status, update_article
from knowledge_base.categories import create_category
from knowledge_base.models import Article, ArticleStatus

DEMO_AUTHOR = "admin@demo.loopdesk.dev"

# (slug, English name, Chinese name, parent slug)
_CATEGORIES = [
    ("account", "Account & sign-in", "账户与登录", None),
    ("passwords", "Passwords & two-step verification", "密码与两步验证", "account"),
    ("billing", "Billing & refunds", "账单与退款", None),
    ("reports", "Reports & exports", "报表与导出", None),
    ("integrations", "Integrations", "集成", None),
    ("mobile", "Mobile app", "移动应用", None),
]

# Each article: its fields, plus "category" (a slug), "status", "pair" (a key shared by
# translations: the second one written joins the first one's group) and "revision"
# (a later edit, so the article has a second version to compare).
_ARTICLES: list[dict[str, Any]] = [
    {
        "pair": "password", "category": "passwords", "language": "en", "kind": "howto",
        "title": "How to reset your password",
        "summary": "Reset a forgotten password from the sign-in page in two minutes.",
        "body": ("1. Open the sign-in page and click **Forgot password?**\n"
                 "2. Enter the email address of your account.\n"
                 "3. Open the email we send you (check the spam folder) and click the link "
                 "within 30 minutes.\n"
                 "4. Choose a new password of at least 12 characters.\n\n"
                 "If your company signs in with single sign-on, ask your administrator "
                 "instead."),
        "tags": ["password", "sign-in"], "products": ["Cloud"],
        "revision": ({"summary": "Reset a forgotten password from the sign-in page; the "
                                 "link in the email works for 30 minutes."},
                     "mention how long the link works"),
    },
    {
        "pair": "password", "category": "passwords", "language": "zh", "kind": "howto",
        "title": "如何重置密码",
        "summary": "忘记密码时，在登录页两分钟内即可重置。",
        "body": ("1. 打开登录页，点击**忘记密码？**\n"
                 "2. 输入账户的邮箱地址。\n"
                 "3. 打开我们发送的邮件（请同时检查垃圾邮件），在 30 分钟内点击其中的链接。\n"
                 "4. 设置一个至少 12 位的新密码。\n\n"
                 "如果贵公司使用单点登录（SSO），请联系管理员重置。"),
        "tags": ["密码", "登录"], "products": ["Cloud"],
    },
    {
        "pair": "refund", "category": "billing", "language": "zh", "kind": "howto",
        "title": "如何申请退款",
        "summary": "在账单页面提交退款申请，审核通过后 5 个工作日内原路退款。",
        "body": ("符合条件的订单可以在购买后 30 天内申请退款。\n\n"
                 "## 申请步骤\n\n"
                 "1. 以管理员身份登录，打开**设置 → 账单**。\n"
                 "2. 在订单列表中找到需要退款的订单，点击**申请退款**。\n"
                 "3. 选择退款原因，填写说明后提交。\n\n"
                 "## 到账时间\n\n"
                 "退款申请审核通过后，款项会在 5 个工作日内原路退回。银行卡退款到账时间"
                 "以银行为准。\n\n"
                 "| 支付方式 | 退款到账时间 |\n|:--|:--|\n"
                 "| 支付宝 / 微信 | 1–3 个工作日 |\n| 银行转账 | 3–5 个工作日 |\n\n"
                 "已开具发票的订单申请退款时，请同时寄回发票。"),
        "tags": ["退款", "账单", "发票"], "products": ["Cloud", "Reports"],
    },
    {
        "pair": "refund", "category": "billing", "language": "en", "kind": "howto",
        "title": "How to request a refund",
        "summary": "Request a refund from the billing page; approved refunds are paid back "
                   "within 5 business days.",
        "body": ("Eligible orders can be refunded within 30 days of purchase.\n\n"
                 "1. Sign in as an administrator and open **Settings → Billing**.\n"
                 "2. Find the order in the list and click **Request refund**.\n"
                 "3. Choose a reason, add a note and submit.\n\n"
                 "Once approved, the money goes back to the original payment method within "
                 "5 business days. If an invoice was issued, please return it as well."),
        "tags": ["refund", "billing", "invoice"], "products": ["Cloud", "Reports"],
    },
    {
        "pair": "export", "category": "reports", "language": "zh", "kind": "troubleshooting",
        "title": "导出报表超时",
        "summary": "导出超过 10,000 行的报表时一直转圈或提示超时的处理方法。",
        "sections": {
            "symptoms": ("- 点击**导出 Excel** 后进度条一直转圈，几分钟后提示“导出超时”。\n"
                         "- 小范围的报表可以正常导出。"),
            "cause": ("同步导出最多处理 10,000 行数据，超过后请求会在 60 秒后超时。"),
            "steps": ("1. 缩小日期范围，分多次导出。\n"
                      "2. 或者使用**后台导出**：点击**导出 → 后台导出**，完成后会收到邮件通知，"
                      "在**报表 → 导出记录**中下载。\n"
                      "3. 如果后台导出也失败，请把报表名称和导出时间发给我们。"),
        },
        "tags": ["导出", "超时", "excel"], "products": ["Reports", "Analytics"],
    },
    {
        "pair": "export", "category": "reports", "language": "en", "kind": "troubleshooting",
        "title": "Report export times out",
        "summary": "What to do when exporting more than 10,000 rows spins forever or times "
                   "out.",
        "sections": {
            "symptoms": ("- After clicking **Export to Excel** the progress bar spins and "
                         "after a few minutes you see *Export timed out*.\n"
                         "- Smaller reports export fine."),
            "cause": "A direct export handles at most 10,000 rows and stops after 60 seconds.",
            "steps": ("1. Narrow the date range and export in parts.\n"
                      "2. Or use **Export → Background export**: we email you when the file "
                      "is ready under **Reports → Exports**.\n"
                      "3. If a background export fails too, send us the report name and the "
                      "time of the export."),
        },
        "tags": ["export", "timeout", "excel"], "products": ["Reports", "Analytics"],
        "revision": ({"tags": ["export", "timeout", "excel", "large reports"]},
                     "added a tag"),
    },
    {
        "pair": "push", "category": "mobile", "language": "en", "kind": "known_issue",
        "title": "Push notifications arrive late on Android 14",
        "summary": "On some Android 14 phones, notifications from the mobile app arrive "
                   "minutes late.",
        "known_issue_status": "workaround",
        "sections": {
            "symptoms": ("Notifications about new replies arrive 5–15 minutes late, or only "
                         "when the app is opened. Mostly Xiaomi, OPPO and vivo phones."),
            "workaround": ("Allow the app to run in the background: **Settings → Apps → "
                           "Loopdesk → Battery → No restrictions**. A fix is planned for "
                           "app version 4.8."),
        },
        "tags": ["notifications", "android"], "products": ["Mobile"],
    },
    {
        "pair": "push", "category": "mobile", "language": "zh", "kind": "known_issue",
        "title": "已知问题：Android 14 上推送通知延迟",
        "summary": "部分 Android 14 手机上，移动应用的通知会延迟几分钟才收到。",
        "known_issue_status": "workaround",
        "sections": {
            "symptoms": "新回复的通知延迟 5–15 分钟才到，或者打开应用后才出现。多见于小米、"
                        "OPPO、vivo 手机。",
            "workaround": "允许应用在后台运行：**设置 → 应用 → Loopdesk → 电池 → 无限制**。"
                          "修复计划在 4.8 版本发布。",
        },
        "tags": ["通知", "安卓"], "products": ["Mobile"],
    },
    {
        "category": "account", "language": "en", "kind": "root_cause", "audience": "internal",
        "title": "Root cause: sign-in failures on 12 November",
        "summary": "Sign-ins failed for 47 minutes after an expired certificate on the "
                   "identity service.",
        "sections": {
            "problem": "From 09:12 to 09:59 (UTC+8) about 30% of sign-ins failed with "
                       "*Something went wrong*. 23 tickets were opened.",
            "root_cause": "The TLS certificate between the web tier and the identity "
                          "service expired; automatic renewal had been disabled during a "
                          "migration in October.",
            "fix": "The certificate was renewed by hand at 09:55 and the web tier "
                   "restarted.",
            "prevention": "- Renewal re-enabled and monitored.\n- An alert 21 days before "
                          "any certificate expires.\n- Migration checklist updated.",
        },
        "tags": ["incident", "sign-in", "certificate"], "products": ["Cloud"],
    },
    {
        "category": "passwords", "language": "zh", "kind": "howto",
        "title": "如何开启两步验证",
        "summary": "用手机验证器为账户加一道保护。",
        "body": ("1. 打开**个人设置 → 安全**，点击**开启两步验证**。\n"
                 "2. 用验证器应用（如 Microsoft Authenticator、Google 身份验证器）扫描二维码。\n"
                 "3. 输入应用显示的 6 位数字完成绑定。\n"
                 "4. 保存好备用恢复码，换手机时需要用到。"),
        "tags": ["两步验证", "安全"], "products": ["Cloud", "Mobile"],
    },
    {
        "category": "integrations", "language": "en", "kind": "howto",
        "title": "Sending ticket events to your system with webhooks",
        "summary": "Receive a signed HTTP request whenever a ticket is created or changes.",
        "body": ("Administrators can add a webhook under **Settings → Webhooks**.\n\n"
                 "1. Enter the HTTPS address that should receive the events.\n"
                 "2. Choose the events (ticket created, status changed, reply added).\n"
                 "3. Copy the signing secret and check the `X-Loopdesk-Signature` header "
                 "of every request.\n\n"
                 "```json\n{\"event\": \"ticket.created\", \"ticket\": {\"number\": "
                 "\"T-1042\"}}\n```\n\n"
                 "Failed deliveries are retried for 24 hours."),
        "tags": ["webhooks", "api"], "products": ["Cloud"],
    },
    {
        "category": "billing", "language": "zh", "kind": "howto",
        "title": "如何修改发票抬头和税号",
        "summary": "开票前在账单设置中修改发票信息。",
        "body": ("1. 打开**设置 → 账单 → 发票信息**。\n"
                 "2. 修改发票抬头、纳税人识别号和地址电话，点击保存。\n"
                 "3. 新信息对之后开具的发票生效；已开具的发票如需重开，请提交工单。"),
        "tags": ["发票", "账单"], "products": ["Cloud"],
    },
    {
        "category": "reports", "language": "en", "kind": "howto",
        "title": "Scheduling a weekly report by email",
        "summary": "Have a report emailed to your team every week.",
        "body": ("Open the report, click **Schedule** and choose the day, time and "
                 "recipients. Recipients get an Excel file; reports over 10,000 rows are "
                 "sent as a download link instead."),
        "tags": ["reports", "schedule", "email"], "products": ["Reports", "Analytics"],
    },
    {
        "category": "reports", "language": "zh", "kind": "troubleshooting",
        "title": "Analytics 仪表盘数据不刷新",
        "summary": "仪表盘数据停留在几个小时前时的排查方法。",
        "sections": {
            "symptoms": "仪表盘右上角的“更新时间”停在几个小时前，新数据没有出现。",
            "cause": "数据源的授权过期，或者同步任务被暂停。",
            "steps": ("1. 打开**数据源**，查看状态是否为“授权过期”，如是请重新授权。\n"
                      "2. 检查同步计划是否被暂停。\n"
                      "3. 点击**立即同步**，几分钟后刷新页面。"),
        },
        "tags": ["仪表盘", "同步"], "products": ["Analytics"],
    },
    {
        "category": "mobile", "language": "en", "kind": "howto", "status": "in_review",
        "title": "Working offline in the mobile app",
        "summary": "Read and answer tickets without a connection; changes sync when you are "
                   "back online.",
        "body": ("Tickets you opened in the last 7 days are kept on the phone. Replies "
                 "written offline wait in the **Outbox** and are sent as soon as the phone "
                 "is online again."),
        "tags": ["offline", "mobile"], "products": ["Mobile"],
    },
    {
        "category": "integrations", "language": "zh", "kind": "troubleshooting",
        "title": "API 返回 429：调用频率超限",
        "summary": "接口返回 429 Too Many Requests 时如何处理。",
        "sections": {
            "symptoms": "调用接口时返回 `429 Too Many Requests`。",
            "cause": "每个 API 令牌每分钟最多 600 次调用，超过后会被暂时限流。",
            "steps": ("1. 读取响应头 `Retry-After`，等待相应秒数后重试。\n"
                      "2. 批量操作请合并请求，避免循环逐条调用。\n"
                      "3. 如确需更高额度，请联系客户经理。"),
        },
        "tags": ["api", "限流"], "products": ["Cloud"],
    },
]


def _author() -> User | None:
    user = db.session.scalar(select(User).where(User.email == DEMO_AUTHOR))
    return user or db.session.scalar(
        select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id))


def load_demo_articles() -> int:
    """Add the demo categories and articles once; the number of articles added."""
    if db.session.scalar(select(Article.id).limit(1)) is not None:
        return 0
    author = _author()
    if author is None:
        return 0
    categories = {}
    for position, (slug, name_en, name_zh, parent) in enumerate(_CATEGORIES):
        categories[slug] = create_category(author, {
            "slug": slug, "name_en": name_en, "name_zh": name_zh, "position": position,
            "parent_id": categories[parent].id if parent else None})
    first_of_pair: dict[str, int] = {}
    for spec in _ARTICLES:
        fields = {key: value for key, value in spec.items()
                  if key not in ("pair", "category", "status", "revision")}
        fields.setdefault("audience", "public")
        fields["category_id"] = categories[spec["category"]].id
        pair = spec.get("pair")
        if pair in first_of_pair:
            fields["translation_of"] = first_of_pair[pair]
        article = create_article(author, fields, note="demo article")
        if pair:
            first_of_pair.setdefault(pair, article.id)
        if "revision" in spec:
            changes, note = spec["revision"]
            update_article(author, article, changes, note=note)
        status = ArticleStatus(spec.get("status", ArticleStatus.PUBLISHED))
        set_status(author, article, status)
    db.session.commit()
    return len(_ARTICLES)
