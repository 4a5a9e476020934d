"""The opportunity rules every installation starts with (admins may edit or disable them).

Seeded into `opportunity_rules` with `built_in=True` the first time rules are read
(`surveys.signals.rules.ensure_builtin_rules`); a later release that adds a rule here seeds
just that one. The cross-sell rules name example products: admins edit them to their own.
"""
from __future__ import annotations

from dataclasses import dataclass

from surveys.models import OpportunityKind

UPSELL, CROSS_SELL, CHURN = (OpportunityKind.UPSELL, OpportunityKind.CROSS_SELL,
                             OpportunityKind.CHURN_RISK)


@dataclass(frozen=True)
class BuiltinRule:
    key: str
    name: str  # also the start of an opportunity's reason: "<name>: "<excerpt>""
    kind: OpportunityKind
    language: str
    phrases: tuple[str, ...]
    product: str | None = None


BUILTIN_RULES: tuple[BuiltinRule, ...] = (
    BuiltinRule("more_seats_en", "Customer asked for more seats", UPSELL, "en", (
        "more seats", "extra seats", "additional seats", "add seats", "more licences",
        "extra licences", "additional licences", "more users", "additional users",
        "add users", "more accounts", "additional accounts", "more user accounts")),
    BuiltinRule("more_seats_zh", "Customer asked for more seats", UPSELL, "zh", (
        "增加账号", "增加帐号", "更多账号", "更多席位", "增加席位", "更多用户", "增加用户",
        "更多许可", "增加许可")),
    BuiltinRule("higher_limits_en", "Customer hit a limit of their plan", UPSELL, "en", (
        "higher limit", "raise the limit", "increase the limit", "more quota",
        "increase our quota", "more capacity", "more storage", "extra storage",
        "reached the limit", "hit the limit", "out of storage", "quota exceeded")),
    BuiltinRule("higher_limits_zh", "Customer hit a limit of their plan", UPSELL, "zh", (
        "提高上限", "提升上限", "增加配额", "扩容", "更多存储", "增加存储", "存储空间不足",
        "超出配额", "达到上限")),
    BuiltinRule("higher_plan_en", "Customer asked for a higher plan's features", UPSELL, "en", (
        "enterprise plan", "enterprise edition", "upgrade our plan", "upgrade plan",
        "premium plan", "SSO", "single sign-on", "audit log", "dedicated support")),
    BuiltinRule("higher_plan_zh", "Customer asked for a higher plan's features", UPSELL, "zh", (
        "升级套餐", "企业版", "高级版", "单点登录", "审计日志", "专属支持")),
    BuiltinRule("cross_sell_backup", "Customer asked about backups", CROSS_SELL, "any", (
        "backup", "back up our data", "data recovery", "备份", "数据恢复"),
        product="Cloud Backup"),
    BuiltinRule("cross_sell_analytics", "Customer asked about analytics", CROSS_SELL, "any", (
        "analytics", "usage reports", "dashboard reports", "报表分析", "数据分析", "统计报表"),
        product="Analytics"),
    BuiltinRule("churn_en", "Customer talked about leaving", CHURN, "en", (
        "cancel our subscription", "cancel my subscription", "cancel our contract",
        "terminate our contract", "not renew", "won't renew", "switch to another vendor",
        "switch to another provider", "switching to a competitor", "move to a competitor",
        "looking for alternatives")),
    BuiltinRule("churn_zh", "Customer talked about leaving", CHURN, "zh", (
        "不续约", "不再续费", "取消订阅", "退订", "换供应商", "更换供应商", "换一家",
        "考虑其他厂商", "解约")),
)
