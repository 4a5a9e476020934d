"""The email parser, the HTML sanitiser and the reply stripper: pure functions, no app needed."""
from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from tests.fixtures.mail import big_attachment_message, fixture, fixture_names
from tests.fixtures.mail.make_fixtures import PDF, png_1x1
from tickets.channels.email.html import html_to_text, sanitize_html
from tickets.channels.email.parse import (
    MAX_ID_LENGTH,
    ParsedAttachment,
    ParsedEmail,
    UnparseableEmail,
    parse_email,
)
from tickets.channels.email.quotes import REPLY_MARKER_PREFIX, strip_reply

GB2312_WARNING = "charset 'gb2312' declared but body is GB18030; decoded as gb18030"

# Every fixture's expected fields (only those named are checked).
EXPECTED: dict[str, dict] = {
    "plain_utf8": dict(
        message_id="CAF8x1_plain-utf8@mail.customer.example",
        subject="Printer jams on page 2", from_address="alice.martin@customer.example",
        from_name="Alice Martin", to_addresses=["support@loopdesk.example"],
        date=datetime(2026, 11, 23, 8, 15, 2, tzinfo=UTC),
        text="Hello,\n\nOur printer jams on page 2 of every job. 打印机每次打印第二页就卡纸。\n\n"
             "Thanks,\nAlice",
        html=None, attachments=[], auto_submitted=False, is_bounce=False, warnings=[]),
    "alternative": dict(
        subject="Invoice question", from_name="Bob Chen",
        text="Hi team,\n\nCould you resend invoice INV-2026-0042? The total looks wrong: "
             "1 200,00 €.\n\nBest,\nBob", warnings=[]),
    "html_only_script": dict(
        from_name="Account Team",
        text="Your account needs attention.\n\nClick here or read the FAQ.\n\n订单号：A-1001"),
    "gbk": dict(
        subject="打印机无法连接网络，请尽快处理", from_name="张伟",
        text="您好：\n\n我们办公室的打印机从昨天开始无法连接网络，型号是 LaserJet M404。"
             "请尽快安排工程师处理。\n\n张伟\n上海分公司", warnings=[]),
    "gb18030_declared_gb2312": dict(
        subject="报修：设备𠀀号 €120", from_name="李娜",
        text="您好，\n\n设备铭牌上的字是“𠀀”，维修报价是 €120。\n\n李娜"),
    "big5": dict(
        subject="退貨申請：訂單 TW-2026-118", from_name="陳美玲",
        text="您好：\n\n我上週收到的耳機左邊沒有聲音，想申請退貨。\n\n陳美玲\n台北", warnings=[]),
    "utf8_declared_but_gbk": dict(
        text="您好，发票抬头写错了，应该是“上海某某科技有限公司”，麻烦重新开一张。谢谢！",
        warnings=["body: charset 'utf-8' declared but the bytes do not fit it; "
                  "decoded as gb18030"]),
    "unknown_charset": dict(
        text="你好，我们的系统登录不了，提示“密码错误”，但是密码是对的。请帮忙检查一下账号状态。",
        warnings=["body: unknown charset 'x-unknown'; decoded as gb18030"]),
    "no_charset_utf8": dict(text="Hi, the café order #12 arrived broken — 请退款。"),
    "ascii_declared_gbk": dict(
        text="您好，我想咨询一下年度维保合同的续费价格。",
        warnings=["body: charset 'us-ascii' declared but the bytes are not ASCII; "
                  "decoded as gb18030"]),
    "qp_utf8_chinese": dict(
        subject="网络断断续续", from_name="王芳",
        text="您好！\n\n我们公司的网络从昨天开始断断续续，影响了整个财务部门的工作，"
             "请尽快派人处理，谢谢！\n\n王芳\n财务部", warnings=[]),
    "base64_body": dict(
        text="Hello,\n\nNothing attached, just a base64 body. 这是用 base64 编码的正文。\n\n"
             "Regards,\nCarol", warnings=[]),
    "reply_gmail": dict(
        subject="Re: [T-000123] Printer jams on page 2",
        in_reply_to=["ld.123.c.7f3a9b@loopdesk.example"],
        references=["CAF8x1_plain-utf8@mail.customer.example",
                    "ld.123.c.7f3a9b@loopdesk.example"], auto_submitted=False),
    "reply_outlook": dict(
        from_address="bob.chen@customer.example", in_reply_to=["ld.124.c.2b3c4d@loopdesk.example"],
        message_id="SN6PR04MB4001A1B2C3D4E5F6A7B8C9D0E1F2A@SN6PR04MB4001.namprd04.prod.outlook.com"),
    "reply_qq": dict(subject="回复：[T-000125] 发票开错了", from_name="王芳",
                     in_reply_to=["ld.125.c.3c4d5e@loopdesk.example"], warnings=[]),
    "reply_marker": dict(references=["ld.126.c.4d5e6f@loopdesk.example"]),
    "reply_marker_zh": dict(subject="回复：[T-000127] 路由器故障", from_name="刘洋"),
    "inline_image_pdf": dict(
        text="Please see the screenshot and the report attached.\n\n请查看截图和附件中的报告。",
        attachments=[
            ParsedAttachment("screenshot.png", "image/png", png_1x1(), "logo-1@customer.example",
                             True),
            ParsedAttachment("报告.pdf", "application/pdf", PDF, None, False),
            ParsedAttachment(
                "发票明细.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                b"PK\x03\x04 not really a workbook", None, False),
            ParsedAttachment("维修单.txt", "text/plain", "设备编号 A-7，更换主板。".encode(),
                             None, False)],
        warnings=[]),
    "dangerous_attachments": dict(text="Please open the attachments.", html=None),
    "bounce_dsn": dict(
        is_bounce=True, auto_submitted=True, from_address="mailer-daemon@mx.loopdesk.example",
        bounced_recipients=["nobody@customer.example"],
        bounced_message_ids=["ld.123.c.7f3a9b@loopdesk.example"]),
    "bounce_delayed": dict(is_bounce=False, auto_submitted=True, bounced_recipients=[],
                           bounced_message_ids=[]),
    "bounce_plain": dict(
        is_bounce=True, auto_submitted=True, bounced_recipients=["old.contact@customer.example"],
        bounced_message_ids=["ld.124.c.1d2e3f@loopdesk.example"],
        date=datetime(2026, 11, 23, 2, 0, 7, tzinfo=UTC)),
    "out_of_office": dict(
        subject="自动回复: [T-000126] 网络故障", auto_submitted=True,
        auto_reason="Auto-Submitted: auto-replied", is_bounce=False,
        text="我正在休假，11月30日返回。紧急事务请联系 zhang.wei@customer.example。"),
    "newsletter_bulk": dict(auto_submitted=True, auto_reason="Precedence: bulk",
                            is_bounce=False),
    "no_message_id": dict(message_id=None, date=None, subject="No id here",
                          from_address="frank@customer.example", from_name=None),
    "header_injection": dict(subject="Order help Bcc: evil@attacker.example",
                             from_name="Eve Bcc: evil@attacker.example",
                             from_address="eve@attacker.example"),
    "forwarded_rfc822": dict(subject="Fwd: 订单问题",
                             text="Please see the customer's original message below.",
                             is_bounce=False, bounced_message_ids=[]),
    "malformed_headers": dict(
        subject="网络故障报告（紧急）", from_name="张三", from_address="zhang.san@customer.example",
        to_addresses=["support@loopdesk.example", "li.si@customer.example"],
        reply_to="zhang.san+reply@customer.example", date=None, message_id=None,
        in_reply_to=[], references=["ld.1.c.bb@loopdesk.example"], text="正文正常。"),
}


def parsed(name: str) -> ParsedEmail:
    return parse_email(fixture(name))


def test_every_fixture_has_expectations():
    assert sorted(EXPECTED) == fixture_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_the_expected_fields(name):
    email = parsed(name)
    for field_name, expected in EXPECTED[name].items():
        assert getattr(email, field_name) == expected, field_name
    assert not re.search(r"[\x00-\x1f\x7f]", email.subject)
    assert email.date is None or email.date.tzinfo == UTC
    assert "\r" not in email.text


def test_fixtures_are_delivered_with_crlf_line_ends():
    for name in fixture_names():
        raw = fixture(name)
        assert b"\r\n" in raw and re.search(rb"(?<!\r)\n", raw) is None, name


def test_gb2312_declaration_is_read_as_gb18030_with_a_warning():
    email = parsed("gb18030_declared_gb2312")
    assert GB2312_WARNING in email.warnings
    assert "𠀀" in email.text and "€120" in email.text


def test_html_only_mail_is_sanitised():
    email = parsed("html_only_script")
    for dangerous in ("<script", "alert", "onclick", "onload", "onmouseover", "onerror",
                      "javascript:", "<iframe", "<form", "<input", "<style", "document.cookie",
                      "Notice"):
        assert dangerous not in email.html, dangerous
    assert ('<a href="https://help.customer.example/faq" rel="noopener noreferrer nofollow">'
            in email.html)
    assert "<strong>A-1001</strong>" in email.html
    assert "alert" not in email.text and "frame text" not in email.text


def test_alternative_prefers_the_text_part_and_keeps_sanitised_html():
    email = parsed("alternative")
    assert "<b>INV-2026-0042</b>" in email.html
    assert "<html" not in email.html and "<meta" not in email.html


def test_inline_image_is_referenced_by_cid():
    email = parsed("inline_image_pdf")
    assert '<img src="cid:logo-1@customer.example" alt="screenshot">' in email.html


def test_dangerous_attachment_names_are_kept_verbatim_for_the_caller_to_sanitise():
    email = parsed("dangerous_attachments")
    assert [(a.filename, a.declared_type) for a in email.attachments] == [
        ("../../etc/passwd", "application/octet-stream"),
        ("invoice.pdf.exe", "application/x-msdownload"),
        ("<script>.html", "text/html")]
    assert email.attachments[1].data == b"MZ\x90\x00\x03\x00\x00\x00"
    assert "alert" not in email.text  # an HTML attachment is not the body


def test_forwarded_message_is_an_attachment_that_parses_again():
    [attachment] = parsed("forwarded_rfc822").attachments
    assert (attachment.filename, attachment.declared_type) == ("forwarded.eml", "message/rfc822")
    inner = parse_email(attachment.data)
    assert inner.message_id == "original.14@customer.example"
    assert inner.subject == "订单问题" and inner.from_name == "张伟"
    assert inner.text == "订单一直没有发货。"


def test_newsletter_tracking_pixel_over_http_is_dropped():
    assert "track.vendor.example" not in parsed("newsletter_bulk").html


def test_bounce_with_delivery_status_is_recognised():
    email = parsed("bounce_dsn")
    assert email.auto_reason == "Auto-Submitted: auto-replied"


def test_big_attachment_comes_through_intact():
    size = 10 * 1024 * 1024 + 1
    email = parse_email(big_attachment_message(size))
    [attachment] = email.attachments
    assert len(attachment.data) == size and attachment.filename == "big.bin"
    assert attachment.data[:3] == b"\x00\x01\x02" and attachment.data[-1] == (size - 1) % 256
    assert email.text == "The log file is attached."


# --- small crafted messages ---------------------------------------------------------------

def mail(*headers: str, body: bytes = b"Hello.\r\n") -> bytes:
    return "\r\n".join(("From: Someone <someone@customer.example>", *headers)).encode() \
        + b"\r\n\r\n" + body


@pytest.mark.parametrize("headers, reason", [
    (("Auto-Submitted: auto-generated",), "Auto-Submitted: auto-generated"),
    (("X-Autoreply: yes",), "X-Autoreply: yes"),
    (("X-Autorespond: Out of office",), "X-Autorespond: Out of office"),
    (("Precedence: junk",), "Precedence: junk"),
    (("List-Id: <team.lists.customer.example>",), "List-Id present (a mailing list or newsletter)"),
    (("Return-Path: <>",), "Return-Path: <> (null sender)"),
])
def test_automatic_mail_headers(headers, reason):
    email = parse_email(mail(*headers))
    assert email.auto_submitted and email.auto_reason == reason and not email.is_bounce


@pytest.mark.parametrize("headers", [("Auto-Submitted: no",), ("Precedence: first-class",),
                                     ("X-Autoreply: no",), ()])
def test_human_mail_is_not_automatic(headers):
    email = parse_email(mail(*headers))
    assert not email.auto_submitted and email.auto_reason is None


def test_x_failed_recipients_and_postmaster_senders_are_bounces():
    email = parse_email(mail("X-Failed-Recipients: Gone@Customer.Example"))
    assert email.is_bounce and email.bounced_recipients == ["gone@customer.example"]
    raw = b"From: postmaster@customer.example\r\nSubject: Returned mail\r\n\r\n" \
          b"Delivery to the following recipient failed permanently:\r\n\r\n" \
          b"     lost@customer.example\r\n"
    email = parse_email(raw)
    assert email.is_bounce and email.bounced_recipients == ["lost@customer.example"]


@pytest.mark.parametrize("value, expected", [
    ("<abc@host>", "abc@host"), ("  <abc@host> (comment)", "abc@host"), ("abc@host", "abc@host"),
    ("garbage", None), ("<>", None), ("<" + "a" * MAX_ID_LENGTH + "@h>", None),
])
def test_message_id_forms(value, expected):
    assert parse_email(mail(f"Message-ID: {value}")).message_id == expected


@pytest.mark.parametrize("subject, expected", [
    ("=?utf-8?Q?caf=C3=A9_cr=C3=A8me?=", "café crème"),
    ("=?UTF-8?B?5L2g5aW9?= =?UTF-8?B?5LiW55WM?=", "你好世界"),  # the space between is dropped
    ("Re: =?utf-8?B?5L2g5aW9?= again", "Re: 你好 again"),
    ("=?utf-8?B?5L2g5aW9", "你好"),  # unterminated
    ("=?utf-8?B?5L2g5aW9IQ?=", "你好!"),  # padding missing
    ("=?utf-8?B?5L2g5aW?=", "你\ufffd"),  # truncated: the declared charset still wins
    ("=?gb2312?B?xOO6ww==?=", "你好"),
    ("=?big5?B?p0Gmbg==?=", "你好"),
    ("=?utf-8*zh?B?5L2g5aW9?=", "你好"),  # RFC 2231 language suffix
    ("=?no-such-charset?B?5L2g5aW9?=", "你好"),
    ("Tab\tand  spaces\x0b", "Tab and spaces"),
])
def test_encoded_subjects(subject, expected):
    assert parse_email(mail(f"Subject: {subject}")).subject == expected


def test_raw_8bit_headers_are_decoded():
    raw = "Subject: 发票问题\r\nFrom: 张三 <zhang@customer.example>\r\n\r\nx".encode("gbk")
    email = parse_email(raw)
    assert email.subject == "发票问题" and email.from_name == "张三"


@pytest.mark.parametrize("encoding, text", [("gbk", "您好，请问我的订单什么时候发货？"),
                                            ("big5", "您好，請問我的訂單什麼時候出貨？")])
def test_undeclared_chinese_bodies_are_detected(encoding, text):
    email = parse_email(mail("Content-Type: text/plain", body=text.encode(encoding)))
    assert email.text == text


def test_headers_only_message_parses_with_empty_text():
    email = parse_email(b"Subject: just a subject\r\n")
    assert email.subject == "just a subject" and email.text == "" and email.from_address is None


def test_nul_and_controls_are_removed_from_the_text():
    assert parse_email(mail(body=b"a\x00b\x07c\r\n")).text == "abc"


def test_deep_nesting_is_cut_with_a_warning():
    raw = b"From: a@customer.example\r\n"
    for depth in range(60):
        raw += f"Content-Type: multipart/mixed; boundary=b{depth}\r\n\r\n--b{depth}\r\n".encode()
    raw += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    email = parse_email(raw)
    assert email.text == "" and any("nested" in warning for warning in email.warnings)


@pytest.mark.parametrize("raw", [b"", b"\n", b"\r\n\r\n", b"   \r\n", b"\x00" * 64,
                                 b"just some text\r\nwith lines\r\n", bytes(range(256))])
def test_not_an_email_is_refused(raw):
    with pytest.raises(UnparseableEmail):
        parse_email(raw)


def test_non_bytes_input_is_refused():
    with pytest.raises(UnparseableEmail):
        parse_email("From: a@b.c\r\n\r\nhi")  # type: ignore[arg-type]


def _mutations(rng: random.Random, raw: bytes):
    tokens = [b"=?", b"?=", b"=?gb2312?B?", b"\r\n--", b";", b'"', b"*0*=", b"'", b"%",
              b"\r\n\r\n", b"<", b">", b"\r\n ", b"Content-Type: message/rfc822\r\n",
              b"charset=x-unknown", b"\xff\xfe", b"Content-Transfer-Encoding: base64\r\n"]
    for _ in range(10):
        data = bytearray(raw)
        kind = rng.randrange(5)
        if kind == 0:
            data = data[:rng.randrange(len(data) + 1)]
        elif kind == 1:
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 2:
            position = rng.randrange(len(data))
            data[position:position] = rng.randbytes(rng.randrange(1, 50))
        elif kind == 3:
            position = rng.randrange(len(data))
            data[position:position] = rng.choice(tokens)
        else:
            start, end = sorted(rng.randrange(len(data) + 1) for _ in range(2))
            del data[start:end]
        yield bytes(data)


def test_fuzzed_inputs_never_raise_anything_but_unparseable_email():
    rng = random.Random(20261123)
    inputs = [b"X-Long: " + b"y" * 300_000 + b"\r\n\r\nbody",
              b"Subject: " + b"=?utf-8?B?" * 5000 + b"\r\n\r\n",
              b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
              + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 1000]
    inputs += [rng.randbytes(rng.randrange(3000)) for _ in range(50)]
    for name in fixture_names():
        inputs += list(_mutations(rng, fixture(name)))
    parsed_count = 0
    for raw in inputs:
        try:
            email = parse_email(raw)
        except UnparseableEmail as error:
            # The catch-all ("could not be read") would hide a parser bug: it must never fire.
            assert "could not" not in str(error), (str(error), raw[:200])
            continue
        parsed_count += 1
        assert not re.search(r"[\r\n]", email.subject)
        assert email.from_name is None or not re.search(r"[\r\n]", email.from_name)
        assert "\x00" not in email.text
    assert len(inputs) > 300 and parsed_count > 200


# --- the reply stripper ---------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("reply_gmail", "Thanks, that fixed it. The printer works again.\n\nAlice"),
    ("reply_outlook", "Hi,\n\nYes, the issue is still happening after the update.\n\n"
                      "Regards,\nBob Chen\nIT Department"),
    ("reply_qq", "好的，新发票已经收到了，谢谢！"),
    ("reply_marker", "The new password works, thank you! You can close the ticket now."),
    ("reply_marker_zh", "好的，问题已经解决了，可以关闭工单。"),
])
def test_replies_from_fixtures_are_stripped(name, expected):
    reply = strip_reply(parsed(name).text)
    assert reply == type(reply)(text=expected, stripped=True)


@pytest.mark.parametrize("name, expected", [
    ("reply_gmail", "Thanks, that fixed it. The printer works again.\n\nAlice"),
    ("reply_outlook", "Hi,\n\nYes, the issue is still happening after the update."),
    ("reply_qq", "好的，新发票已经收到了，谢谢！"),
])
def test_replies_rendered_from_html_are_stripped(name, expected):
    assert strip_reply(html_to_text(parsed(name).html)).text == expected


@pytest.mark.parametrize("text, expected", [
    ("Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Support <s@loopdesk.example> wrote:\n> old", "Yes."),
    ("Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Support <\ns@loopdesk.example> wrote:\n> old", "Yes."),
    ("Sure.\n\n张三 <zhang@customer.example> 于2026年11月23日周一 10:00写道：\n> 你好", "Sure."),
    ("好的\n\n在 2026年11月23日 周一 10:00，张三 <a@b.com> 写道：\n\n> 旧", "好的"),
    ("Thanks\n\n________________________________\nFrom: Support <s@x.example>\n"
     "Sent: Monday, November 23, 2026 10:00\nTo: Me\nSubject: Hi\n\nold", "Thanks"),
    ("收到\n\n发件人: 支持 <s@x.example>\n发送时间: 2026年11月23日 10:00\n"
     "收件人: 我\n主题: 测试\n\n旧", "收到"),
    ("谢谢\n-----原始邮件-----\n发件人：a\n日期：b\n旧", "谢谢"),
    ("ok\n------------------ Original ------------------\nFrom: a\nDate: b", "ok"),
    ("Fixed.\n-----Original Message-----\nold", "Fixed."),
    ("Answer 1\n> question 2\nAnswer 2\n\n-- \nBob\nCEO", "Answer 1\nAnswer 2"),
    ("Done\r\n\r\nSent from my iPhone\r\n", "Done"),
    ("搞定了\n\n发自我的 iPhone", "搞定了"),
    ("Reply\n##- 请在此行之上回复 -##\nold stuff", "Reply"),
    (f"Reply\n{REPLY_MARKER_PREFIX} Bitte oberhalb antworten -##\nalt", "Reply"),
])
def test_reply_shapes(text, expected):
    assert strip_reply(text).text == expected and strip_reply(text).stripped


@pytest.mark.parametrize("text", [
    "Plain message with nothing to strip.",
    "On my laptop it works.\nThanks!",
    "来自我的客户的投诉很多",
    "> only quoted\n> lines",
    "-- \nonly a signature",
])
def test_nothing_or_everything_to_strip_returns_the_original(text):
    assert strip_reply(text) == type(strip_reply(text))(text=text, stripped=False)


# --- HTML -------------------------------------------------------------------------------------

def test_sanitizer_keeps_safe_markup_and_drops_the_rest():
    html = ('<table border="1" onclick="x()"><tr><td colspan="2">a</td></tr></table>'
            '<a href="mailto:help@loopdesk.example">mail</a><a href="/relative">rel</a>'
            '<a href="JaVa&#x09;script:alert(1)">obf</a>'
            '<img src="cid:a@b"><img src="https://cdn.example/i.png">'
            '<img src="http://cdn.example/i.png"><img src="data:image/png;base64,AAAA">'
            '<p style="color: red; position: absolute; background-image: url(x)">p</p>'
            '<svg><script>alert(1)</script></svg><object data="x.swf"></object>'
            '<div class="c" id="i">d</div>')
    clean = sanitize_html(html)
    assert '<td colspan="2">a</td>' in clean and 'border="1"' in clean
    assert '<a href="mailto:help@loopdesk.example" rel="noopener noreferrer nofollow">' in clean
    assert '<img src="cid:a@b">' in clean and '<img src="https://cdn.example/i.png">' in clean
    assert '<p style="color:red">p</p>' in clean
    for gone in ("onclick", "/relative", "script", "http://", "data:", "position", "url(",
                 "<svg", "<object", "class=", "id="):
        assert gone not in clean, gone
    assert "https://cdn.example" not in sanitize_html(html, remote_images=False)


def test_html_to_text_renders_blocks_lists_quotes_and_entities():
    html = ("<html><head><title>T</title><style>p{}</style></head><body>"
            "<h1>Title</h1><p>One&nbsp;&amp;&lt;two&gt;<br>next line</p>"
            "<ul><li>first</li><li>second<ol><li>nested</li></ol></li></ul>"
            "<p><a href='https://x.example'>link text</a></p><script>alert(1)</script>"
            "<blockquote>quoted<br>more</blockquote><div></div><div></div><div>end</div>"
            "</body></html>")
    assert html_to_text(html) == (
        "Title\n\nOne &<two>\nnext line\n\n- first\n- second\n  - nested\n\nlink text\n\n"
        "> quoted\n> more\n\nend")


def test_html_to_text_survives_broken_markup():
    assert html_to_text("<p>unclosed <b>bold <div>x</p></span>&bogus; <head>hidden") \
        == "unclosed bold\nx\n\n&bogus;"
