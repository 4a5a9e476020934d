"""Strip quoted history and signatures from an email reply, for English and Chinese clients.

Call it on replies only: a forward written as "From: … Sent: …" looks exactly like Outlook's
quoted history and would be cut. What counts as history (everything from its first line down):

- our own marker line: any line containing "##-" (`##- Please type your reply above this
  line -##`, `##- 请在此行之上回复 -##`, whatever the language), plus the client's
  "… wrote:" line just above it;
- attribution lines: "On <date>, <name> wrote:" (also wrapped over two lines), "在 2026年11月23日
  周一 10:00，张三 <a@b.com> 写道：", Gmail's "张三 <a@b.com> 于2026年11月23日周一 10:00写道：";
- separators: "-----Original Message-----", "-----原始邮件-----", and QQ Mail / Foxmail's
  "------------------ 原始邮件 ------------------" (or " Original ");
- header blocks: "From: …" followed within a few lines by "Sent: …" / "Date: …", and
  "发件人: …" followed by "发送时间: …" / "日期: …" (with an underscore rule above it, if any).

Then lines starting with ">" (interleaved quotes) are dropped, the signature from a "-- " line
down is cut, and mobile footers ("Sent from my iPhone", "发自我的iPhone") are removed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

REPLY_MARKER_PREFIX = "##-"

_MAX_ATTRIBUTION = 400
_WROTE = re.compile(r"(\bwrote|\bschrieb|\ba écrit|写道|寫道)\s*[:：]\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*(On|Am|Le)\s|^\s*(在|于)", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*[-_=*]{2,}\s*(Original Message|Original|原始邮件|原始郵件|原始信息|原邮件)"
    r"\s*[-_=*]{2,}\s*$", re.IGNORECASE)
_FROM_LABEL = re.compile(r"^\s*[*>]*\s*(From|发件人|發件人|寄件者)\s*\**\s*[:：]",
                         re.IGNORECASE)
_DATE_LABEL = re.compile(
    r"(^|\s)\**(Sent|Date|发送时间|發送時間|日期|时间|時間|寄件日期)\s*\**\s*[:：]", re.IGNORECASE)
_RULE = re.compile(r"^\s*[-_=]{5,}\s*$")
_QUOTED = re.compile(r"^\s*>")
_SIGNATURE = re.compile(r"^--\s?$")
_DEVICES = (r"(iPhone|iPad|Android|HUAWEI|Honor|Xiaomi|Redmi|OPPO|vivo|Galaxy"
            r"|华为|荣耀|小米|三星|手机|平板)")
_MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my\b.{0,40}|sent from (mail|outlook|yahoo mail)\b.{0,40}"
    r"|get outlook for\b.{0,40}|sent with proton ?mail\b.{0,20}"
    rf"|(发自|来自)我的\s*{_DEVICES}.{{0,15}}|(从|從)我的\s*{_DEVICES}.{{0,15}}(发送|傳送)"
    r"|(发自|来自)(网易邮箱大师|QQ邮箱|移动版 ?Outlook).{0,10})\s*$",
    re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    """The new text of a reply and whether anything was removed to get it."""

    text: str
    stripped: bool


def _is_attribution(line: str) -> bool:
    """ "On … wrote:" / "在 … 写道：": one line that names a date or an address."""
    line = line.strip()
    if not line or len(line) > _MAX_ATTRIBUTION or not _WROTE.search(line):
        return False
    return bool(_ATTRIBUTION_START.match(line) or "@" in line or re.search(r"\d", line))


def _history_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history, or None."""
    for index, line in enumerate(lines):
        if REPLY_MARKER_PREFIX in line:
            return _include_attribution_above(lines, index)
        if _SEPARATOR.match(line):
            return index
        if _is_attribution(line):
            return index
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if (_ATTRIBUTION_START.match(line) and following.strip()
                and _is_attribution(line.strip() + " " + following.strip())):
            return index
        label = _FROM_LABEL.match(line)
        if label and (_DATE_LABEL.search(line, label.end()) or any(
                _DATE_LABEL.match(below.lstrip("> ")) for below in lines[index + 1:index + 6])):
            return _include_rule_above(lines, index)
    return None


def _include_attribution_above(lines: list[str], index: int) -> int:
    """Our marker is usually quoted under the client's "… wrote:" line: cut that too."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if (above >= 0 and not _QUOTED.match(lines[above])
            and lines[above].rstrip().endswith((":", "："))):
        return above
    return index


def _include_rule_above(lines: list[str], index: int) -> int:
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above if above >= 0 and _RULE.match(lines[above]) else index


def strip_reply(text: str) -> Reply:
    """The reply without quoted history, signature and mobile footer (or the original text)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _history_start(lines)
    if start is not None:
        lines = lines[:start]
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line):
            lines = lines[:index]
            break
    kept = [line for line in lines if not _QUOTED.match(line) and not _MOBILE_FOOTER.match(line)]
    new = re.sub(r"\n\s*\n(\s*\n)+", "\n\n", "\n".join(kept)).strip("\n").rstrip()
    if not new.strip():
        return Reply(text=text, stripped=False)
    original = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").rstrip()
    return Reply(text=new, stripped=new != original)
