"""A small bilingual knowledge base for the search tests, built with the models directly
(Article rows + index_article), so the tests do not depend on the articles service."""
from __future__ import annotations

from dataclasses import dataclass

from knowledge_base.models import (Article, ArticleKind, ArticleProduct, ArticleStatus,
                                   Audience, Category)
from knowledge_base.search import index_article
from service.extensions import db


@dataclass
class Corpus:
    articles: dict[str, Article]
    categories: dict[str, Category]

    def id(self, name: str) -> int:
        return self.articles[name].id


def add_article(title: str, *, language: str = "en", summary: str = "", body: str = "",
                kind: ArticleKind = ArticleKind.HOWTO, sections: dict | None = None,
                tags: list[str] | None = None, products: list[str] | None = None,
                audience: Audience = Audience.PUBLIC,
                status: ArticleStatus = ArticleStatus.PUBLISHED,
                category: Category | None = None) -> Article:
    """One article, flushed and indexed (not committed)."""
    article = Article(kind=kind, title=title, summary=summary, body=body,
                      sections=sections or {}, tags=tags or [], language=language,
                      audience=audience, status=status,
                      category_id=category.id if category else None)
    article.products = [ArticleProduct(product=product) for product in products or []]
    db.session.add(article)
    db.session.flush()
    index_article(article)
    return article


def build_corpus() -> Corpus:
    """The articles every search test uses, committed."""
    account = Category(slug="account", name_en="Account", name_zh="账户")
    db.session.add(account)
    db.session.flush()
    billing = Category(slug="billing", name_en="Billing", name_zh="账单", parent_id=account.id)
    mobile = Category(slug="mobile", name_en="Mobile", name_zh="移动端")
    db.session.add_all([billing, mobile])
    db.session.flush()
    categories = {"account": account, "billing": billing, "mobile": mobile}
    a = {}
    a["refund_zh"] = add_article(
        "退款政策", language="zh", summary="订单退款的规则和时限。",
        body="如果您对订单不满意，可以在七天内申请退款。退款将原路返回到您的支付账户。",
        tags=["退款"], products=["Shop"], category=billing)
    a["refund_entry_zh"] = add_article(
        "在哪里申请退款", language="zh", summary="申请退款的入口在订单详情页。",
        body="打开**订单详情**页面，点击“申请退款”入口，填写原因后提交即可。",
        products=["Shop"], category=billing)
    a["invoice_zh"] = add_article(
        "发票开具说明", language="zh", summary="如何下载电子发票。",
        body="在账户设置中下载电子发票。发票抬头可以随时修改。", category=account)
    a["login_zh"] = add_article(
        "无法登录手机应用", language="zh", kind=ArticleKind.KNOWN_ISSUE,
        sections={"symptoms": "安卓手机上登录后立即退出。", "workaround": "请先清除应用缓存。"},
        products=["Mobile app"], category=mobile)
    a["password_en"] = add_article(
        "Reset your password", summary="Forgot your password? Reset it from the sign-in page.",
        body="Click **Forgot password** on the sign-in page and follow the link we e-mail you.",
        tags=["password", "sign-in"], category=account)
    a["export_en"] = add_article(
        "Export report times out", kind=ArticleKind.TROUBLESHOOTING,
        summary="Large reports can take longer than the time limit.",
        sections={"symptoms": "Exporting a large report times out after 30 seconds.",
                  "cause": "The report has more than 100,000 rows.",
                  "steps": "1. Filter the report by month.\n2. Export each month separately."},
        tags=["reports"], products=["Analytics"])
    a["billing_en"] = add_article(
        "Billing overview", summary="How invoices and payments work.",
        body="Invoices are issued monthly. You can also export invoices as CSV files from "
             "the billing page.", category=billing, products=["Shop"])
    a["refund_policy_en"] = add_article(
        "Refund policy", summary="When we refund an order and how long it takes.",
        body="We refund orders within 14 days of delivery. The money returns to the card "
             "you paid with.", tags=["refund"], category=billing, products=["Shop"])
    a["login_en"] = add_article(
        "Login fails on Android", kind=ArticleKind.KNOWN_ISSUE,
        sections={"symptoms": "The app closes right after login.",
                  "workaround": "Clear the app cache, then sign in again."},
        products=["Mobile app"], category=mobile)
    a["html_en"] = add_article(
        "Using <b>bold</b> markup", summary="Write <script>alert(1)</script> safely in notes.",
        body="Type `<script>` in a code span to show markup safely.")
    # Never shown to customers.
    a["internal_en"] = add_article(
        "Refund escalation runbook", summary="Internal: when a refund needs a lead.",
        body="Escalate refund disputes above 500 dollars.", audience=Audience.INTERNAL,
        category=billing)
    a["draft_en"] = add_article(
        "Upcoming refund changes", summary="Draft refund text.", status=ArticleStatus.DRAFT)
    a["review_en"] = add_article(
        "Refund timelines explained", summary="Being reviewed.",
        status=ArticleStatus.IN_REVIEW)
    a["archived_en"] = add_article(
        "Old refund policy", summary="The refund policy of 2020.",
        status=ArticleStatus.ARCHIVED)
    db.session.commit()
    return Corpus(a, categories)
