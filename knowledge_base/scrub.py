"""Take personal data out of ticket text before it becomes an article draft.

Known people first (the ticket's contact → "[customer]", its account → "[company]"), then
patterns: links with a path or query → "[link]" (bare domains stay), e-mail addresses →
"[email]", ticket numbers → "[ticket]", IP addresses → "[ip]", card numbers and phone
numbers (international, Chinese mobile and landline, North American) → "[number]" /
"[phone]", other runs of 8 or more digits (orders, accounts) → "[number]". Chinese text is
left as it is: every pattern is bounded by ASCII characters only.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Iterable

CUSTOMER = "[customer]"
COMPANY = "[company]"
EMAIL = "[email]"
PHONE = "[phone]"
LINK = "[link]"
TICKET = "[ticket]"
IP = "[ip]"
NUMBER = "[number]"

_URL = re.compile(r"(?<![A-Za-z0-9_@.])(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+",
                  re.IGNORECASE)
_URL_TRAILING = ".,;:!?'"
# The local part is at most 64 characters (RFC 5321): bounded, a long run of digits or
# letters without an "@" is passed over in linear time, not tried from each of its characters.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_TICKET = re.compile(r"(?<![A-Za-z0-9])T-?\d{4,10}(?![0-9])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_CARD = re.compile(r"(?<!\d)\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?(?!\d)")
_PHONES = (
    # +86 138 0013 8000, +1 (555) 123-4567, +44 20 7946 0958
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}(?!\d)"),
    # Chinese mobile: 13800138000, 138-0013-8000, 138 0013 8000
    re.compile(r"(?<!\d)1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)"),
    # Chinese landline: 010-12345678, (0755) 1234 5678
    re.compile(r"(?<!\d)\(?0\d{2,3}\)?[ \-]\d{3,4}[ \-]?\d{4}(?!\d)"),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567
    re.compile(r"(?<![\d\-])\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}(?![\d\-])"),
)
_LONG_NUMBER = re.compile(r"(?<!\d)(?<!0x)(?<!0X)\d{8,}(?![\dA-Fa-f])")  # not hex codes
_CJK = re.compile(r"[\u3400-\u9fff]")
# Ways a Chinese surname is followed in speech: 王先生, 李女士, 张经理 …
_CJK_TITLES = "先生|女士|小姐|老师|经理|总"


def scrub(text: str, *, names: Iterable[str] = (), companies: Iterable[str] = ()) -> str:
    """The text without personal data: `names` (the customer's name, e-mail, phone) become
    "[customer]", `companies` "[company]", then the patterns above apply."""
    if not text:
        return ""
    text = _replace_known(text, [name for name in names if name], CUSTOMER, parts=True)
    text = _replace_known(text, [name for name in companies if name], COMPANY, parts=False)
    text = _URL.sub(_link, text)
    text = _EMAIL.sub(EMAIL, text)
    text = _TICKET.sub(TICKET, text)
    text = _IPV4.sub(_ipv4, text)
    text = _IPV6.sub(_ipv6, text)
    text = _CARD.sub(NUMBER, text)
    for pattern in _PHONES:
        text = pattern.sub(_phone, text)
    return _LONG_NUMBER.sub(NUMBER, text)


def _link(match: re.Match) -> str:
    url = match.group(0)
    trailing = ""
    while url and url[-1] in _URL_TRAILING:
        url, trailing = url[:-1], url[-1] + trailing
    rest = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE)
    host, _sep, tail = rest.partition("/")
    if "?" in host or "#" in host or "@" in host:
        return LINK + trailing
    if tail.strip("/") or "?" in rest or "#" in rest:
        return LINK + trailing
    return url + trailing  # a bare domain names a company's site, not a person


def _ipv4(match: re.Match) -> str:
    value = match.group(0)
    return IP if all(int(part) <= 255 for part in value.split(".")) else value


def _ipv6(match: re.Match) -> str:
    value = match.group(0)
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return value  # a time (10:30:00) or another colon-separated thing
    return IP


def _phone(match: re.Match) -> str:
    value = match.group(0)
    return PHONE if len(re.sub(r"\D", "", value)) >= 7 else value


def _replace_known(text: str, values: list[str], placeholder: str, *, parts: bool) -> str:
    patterns: list[str] = []
    for value in sorted({value.strip() for value in values if value.strip()}, key=len,
                        reverse=True):
        patterns.extend(_known_patterns(value, parts=parts))
    if not patterns:
        return text
    # One pass, longest value first: a placeholder already written is never matched again.
    return re.sub("|".join(f"(?:{pattern})" for pattern in patterns), placeholder, text,
                  flags=re.IGNORECASE)


def _known_patterns(value: str, *, parts: bool) -> list[str]:
    """Patterns finding one known value: an address as written, a phone however it is
    spaced, a name in full and (a person's Latin name) by each part, a Chinese surname
    with a title."""
    digits = re.sub(r"\D", "", value)
    if "@" in value:
        return [re.escape(value)]
    if len(digits) >= 7 and not re.search(r"[A-Za-z\u3400-\u9fff]", value):
        variants = {digits}
        if digits.startswith("86") and len(digits) == 13:
            variants.add(digits[2:])  # a Chinese number written without its country code
        spaced = "|".join(r"[ .\-()]*".join(variants_digits) for variants_digits in
                          sorted(variants, key=len, reverse=True))
        return [rf"(?<!\d)(?:\+\d{{1,3}}[ .\-]*)?(?:{spaced})(?!\d)"]
    if _CJK.search(value):
        found = [re.escape(value)]
        if parts and len(value) >= 2 and _CJK.match(value[0]):
            found.append(re.escape(value[0]) + f"(?:{_CJK_TITLES})")
        return found
    found = [rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])"]
    for part in re.split(r"[\s,]+", value) if parts else ():
        if len(part) >= 3 and part.isalpha():
            found.append(rf"(?<![A-Za-z]){re.escape(part)}(?![A-Za-z])")
    return found
