"""The phrase detector: every built-in rule family in English and Chinese, what must fire and
what must not (negations, unrelated words), and the registry for a classifier.

Boundaries, as documented in surveys.signals.detect: English phrases match whole words, so
"seat belt" does not trigger "more seats"; a negation in the four words before a phrase in
the same clause cancels it, one after it or in another clause does not.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.extensions import db
from surveys.models import OpportunityKind, SignalRule
from surveys.signals import detect, rules

FIRES = [
    # upsell: more seats / licences / users / accounts
    ("We need more seats for the new hires.", "more_seats_en", "more seats"),
    ("We need 20 more licenses before Monday.", "more_seats_en", "more licenses"),
    ("Could you add users to our workspace?", "more_seats_en", "add users"),
    ("Please quote us for additional licences.", "more_seats_en", "additional licences"),
    ("我们需要增加账号，新同事下周入职。", "more_seats_zh", "增加账号"),
    ("能不能给我们更多席位？", "more_seats_zh", "更多席位"),
    ("我们想要更多用户名额", "more_seats_zh", "更多用户"),
    # upsell: limits, quota, capacity, storage
    ("Can you raise the limit on API calls?", "higher_limits_en", "raise the limit"),
    ("We keep getting QUOTA EXCEEDED errors.", "higher_limits_en", "QUOTA EXCEEDED"),
    ("We need more storage for attachments.", "higher_limits_en", "more storage"),
    ("请帮我们提高上限", "higher_limits_zh", "提高上限"),
    ("下个月需要扩容", "higher_limits_zh", "扩容"),
    # upsell: features of a higher plan
    ("How do we upgrade our plan?", "higher_plan_en", "upgrade our plan"),
    ("Does the enterprise plan include SSO?", "higher_plan_en", "enterprise plan"),
    ("We would like an audit log of admin actions.", "higher_plan_en", "audit log"),
    ("We need single sign-on for our staff.", "higher_plan_en", "single sign-on"),
    ("我们想升级套餐", "higher_plan_zh", "升级套餐"),
    ("企业版有单点登录吗？", "higher_plan_zh", "企业版"),
    # cross-sell
    ("Do you offer backup for our files?", "cross_sell_backup", "backup"),
    ("我们需要数据备份", "cross_sell_backup", "备份"),
    ("Is there analytics on ticket volume?", "cross_sell_analytics", "analytics"),
    ("有没有报表分析功能", "cross_sell_analytics", "报表分析"),
    # churn risk
    ("We want to cancel our subscription.", "churn_en", "cancel our subscription"),
    ("We will switch to another vendor next quarter.", "churn_en", "switch to another vendor"),
    ("We will not renew the contract.", "churn_en", "not renew"),
    ("明年我们不续约了", "churn_zh", "不续约"),
    ("我们在考虑换供应商", "churn_zh", "换供应商"),
    ("我要退订", "churn_zh", "退订"),
    # a negation in another clause, or after the phrase, does not cancel
    ("We are not unhappy, but we need more seats.", "more_seats_en", "more seats"),
    ("We need more seats, not fewer.", "more_seats_en", "more seats"),
    ("问题不大，我们需要增加账号", "more_seats_zh", "增加账号"),
    ("不错，我们还想增加账号", "more_seats_zh", "增加账号"),  # 不错 is praise, not a negation
    ("能不能增加账号？", "more_seats_zh", "增加账号"),  # a question, not a negation
]

SILENT = [
    "We don't need more seats.",
    "We don’t really need any more seats.",  # curly apostrophe, words in between
    "We do not need additional users.",
    "No need for more licences, thanks.",
    "We no longer need extra storage.",
    "Our plan works fine without SSO.",
    "We never asked to upgrade our plan.",
    "It doesn't need more capacity.",
    "不需要增加账号",
    "我们暂不扩容",
    "不用升级套餐",
    "无需更多席位",
    "我们没有提高上限的需求",
    "别增加账号了",
    "The seat belt in the car is broken.",  # whole words: "more seats" is not "seat belt"
    "Thanks, everything works now.",
    "谢谢，问题已经解决了。",
    "We do not want to cancel our subscription.",
]


@pytest.fixture
def builtin(app):
    rules.ensure_builtin_rules()
    db.session.commit()


def _firing(text: str) -> dict[str, str]:
    return {match.rule_key: match.phrase for match in detect.detect(text)}


def test_builtin_rules_fire(builtin):
    # One app for every text (a fresh app per text would cost a second each).
    wrong = {text: _firing(text) for text, rule_key, phrase in FIRES
             if _firing(text).get(rule_key) != phrase}
    assert wrong == {}


def test_negations_and_unrelated_texts_do_not_fire(builtin):
    assert {text: _firing(text) for text in SILENT if _firing(text)} == {}


def test_explain_shows_the_cancelled_match_and_its_negation(builtin):
    [match] = detect.explain("We don't need more seats.")
    assert (match.rule_key, match.phrase, match.cancelled_by) == (
        "more_seats_en", "more seats", "don't")
    [zh] = detect.explain("不需要增加账号")
    assert (zh.phrase, zh.cancelled_by) == ("增加账号", "不需要")
    [paused] = detect.explain("暂不扩容")
    assert paused.cancelled_by == "暂不"


def test_match_carries_kind_product_and_the_sentence(builtin):
    text = "Hello team. We would love more seats for the sales team! Regards, Ann"
    [match] = detect.detect(text)
    assert match.kind == OpportunityKind.UPSELL and match.product is None
    assert match.excerpt == "We would love more seats for the sales team!"
    assert text[match.start:match.end] == "more seats"
    [backup] = detect.detect("我们想了解一下备份。谢谢")
    assert (backup.kind, backup.product, backup.excerpt) == (
        OpportunityKind.CROSS_SELL, "Cloud Backup", "我们想了解一下备份。")


def test_excerpt_of_a_long_sentence_is_cut_around_the_phrase():
    text = "x " * 300 + "we need more seats " + "y " * 300
    start = text.index("more seats")
    excerpt = detect.excerpt_around(text, start, start + len("more seats"))
    assert len(excerpt) <= detect.EXCERPT_MAX
    assert "more seats" in excerpt and excerpt.startswith("…") and excerpt.endswith("…")


def test_a_rule_counts_once_per_text(builtin):
    matches = detect.detect("We need more seats. Really, more seats and more users.")
    assert [(match.rule_key, match.phrase) for match in matches] == [
        ("more_seats_en", "more seats")]


def test_a_negated_first_mention_does_not_hide_a_later_one(builtin):
    [match] = detect.detect("We don't need more storage. But we need more seats.")
    assert match.phrase == "more seats"


def test_english_variants_and_boundaries():
    rule = detect.PhraseRule("seat", "Seat", OpportunityKind.UPSELL, ("seat", "licence"))
    found = [match.phrase for match in detect.find_phrases(
        rule, "One seat, two seats, a license, two licences; seatbelt, reseat")]
    assert found == ["seat", "seats", "license", "licences"]
    # A one-word rule does match "seat belt": that is why the built-ins use "more seats".
    assert [m.phrase for m in detect.find_phrases(rule, "my seat belt")] == ["seat"]


def test_disabled_and_admin_rules_are_read(builtin):
    db.session.scalar(select(SignalRule).where(SignalRule.key == "more_seats_en")).enabled = False
    rules.create_rule({"key": "white_label", "name": "Customer asked for white label",
                       "kind": "upsell", "language": "en", "phrases": ["white label"]})
    db.session.commit()
    assert _firing("We need more seats and a white-label portal.") == {
        "white_label": "white-label"}


def test_a_registered_detector_is_asked_too(builtin):
    class Classifier:
        def detect(self, text: str) -> list[detect.Match]:
            if "churn" not in text:
                return []
            return [detect.Match("classifier_churn", "Classifier: churn", OpportunityKind
                                 .CHURN_RISK, None, "churn", text)]

    classifier = Classifier()
    detect.register_detector(classifier)
    try:
        assert _firing("I smell churn here") == {"classifier_churn": "churn"}
        assert _firing("We need more seats") == {"more_seats_en": "more seats"}
    finally:
        detect.unregister_detector(classifier)
    assert _firing("I smell churn here") == {}
    with pytest.raises(TypeError):
        detect.register_detector(object())
