"""Personal data taken out of ticket text before it becomes an article draft."""
from __future__ import annotations

import pytest

from knowledge_base.scrub import scrub


@pytest.mark.parametrize("text, expected", [
    ("Write to casey.q+help@mail.example.co.uk today.", "Write to [email] today."),
    ("邮箱是zhang_san@163.com，谢谢", "邮箱是[email]，谢谢"),
    ("x" * 64 + "@example.com wrote", "[email] wrote"),
    ("Call +86 138 0013 8000 please", "Call [phone] please"),
    ("手机13800138000或者138-0013-8000", "手机[phone]或者[phone]"),
    ("Office +1 (555) 123-4567.", "Office [phone]."),
    ("US (555) 123-4567 or 555-123-4567", "US [phone] or [phone]"),
    ("London +44 20 7946 0958", "London [phone]"),
    ("座机010-12345678转分机", "座机[phone]转分机"),
    ("Reset at https://example.com/reset?token=abc123.", "Reset at [link]."),
    ("See https://portal.example.com/u/8f3a9c/invoice", "See [link]"),
    ("Our site is https://example.com and www.example.com.",
     "Our site is https://example.com and www.example.com."),
    ("点这里https://a.cn/x?y=1看看", "点这里[link]看看"),
    ("Same as T-000123 and T000456.", "Same as [ticket] and [ticket]."),
    ("工单T-000123已经关闭", "工单[ticket]已经关闭"),
    ("Server 192.168.10.254 answered", "Server [ip] answered"),
    ("It was 10.0.3.17.", "It was [ip]."),
    ("v6 2001:db8::8a2e:370:7334 and ::1 here", "v6 [ip] and [ip] here"),
    ("Card 4111 1111 1111 1111 was charged", "Card [number] was charged"),
    ("Order 2024011500012345 is late", "Order [number] is late"),
    ("订单号20240115000123没有到", "订单号[number]没有到"),
])
def test_patterns(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize("text", [
    "打印机卡纸，重启以后还是不行。",
    "The meeting is at 10:30:00 on 2024-01-15.",
    "Model X200 needs firmware 3.2, 5 pages per minute, 1234567 is short.",
    "Error code 0x80070005 after 12 retries",
    "A version 999.1.1.1 string",
    "",
])
def test_leaves_ordinary_text_alone(text):
    assert scrub(text) == text


def test_known_customer_and_company():
    text = ("Casey Customer (casey@example.com, +86 138 0013 8000) from Acme Printing Ltd "
            "says: Casey here, call 13800138000. 王小明说王先生的打印机坏了。")
    result = scrub(text, names=["Casey Customer", "casey@example.com", "+86 138 0013 8000",
                                "王小明"], companies=["Acme Printing Ltd"])
    assert result == ("[customer] ([customer], [customer]) from [company] says: [customer] "
                      "here, call [customer]. [customer]说[customer]的打印机坏了。")
    for secret in ("Casey", "casey@", "138", "Acme", "王小明"):
        assert secret not in result


def test_company_words_alone_stay():
    assert scrub("Printing fails at Acme Printing Ltd.", companies=["Acme Printing Ltd"]) \
        == "Printing fails at [company]."


def test_names_are_matched_whole_and_case_insensitively():
    assert scrub("ANNA wrote; Annabel did not.", names=["Anna Li"]) \
        == "[customer] wrote; Annabel did not."


def test_empty_names_are_ignored():
    assert scrub("nothing to hide", names=["", "  "], companies=[""]) == "nothing to hide"


def test_regex_characters_in_names_are_literal():
    assert scrub("Mr. (Bob) + Co called", names=["(Bob)"], companies=["+ Co"]) \
        == "Mr. [customer] [company] called"
