"""Finding opportunity phrases in a customer's text, in English and Chinese.

A detector turns a text into `Match`es: which rule fired, on which words, in which sentence.
The built-in `PhraseDetector` reads the enabled `SignalRule` rows; a classifier can be
plugged in beside it with `register_detector()` (anything with `detect(text)`), and every
registered detector is asked by `detect()`.

Phrase matching, in short (the admin guide says the same):
- A phrase with Chinese characters matches as a substring (ignoring upper/lower case of any
  Latin letters in it, e.g. "SSO单点登录").
- Any other phrase matches whole words, ignoring case, with simple variants: each word may
  take a plural ("seat" finds "seats", "quota" finds "quotas", "capacity" finds
  "capacities"), "licence" and "license" are the same word, words may be split by spaces or
  hyphens, and one determiner ("our", "the", "a", "some"…) may stand between two words
  ("upgrade plan" finds "upgrade our plan"). So "more seats" never matches "seat belt",
  while a one-word rule "seat" would match "seat belt" (but not "seatbelt").
- A negation cancels a match: for English, a negator ("don't", "do not", "not", "never",
  "without", "no need for", "no longer need"…) among the four words before the phrase in the
  same clause; for Chinese, a negator ("不", "不需要", "不用", "无需", "没有", "没", "别",
  "暂不") at most two characters before the phrase in the same clause. Clauses end at
  punctuation and at "but", "however", "但是", "不过"…; compounds such as "不错", "不断",
  "别的" and questions such as "有没有", "能不能" are not negations.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable

from surveys.models import OpportunityKind

EXCERPT_MAX = 300
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE_END = re.compile(r"[.!?。！？\n]+")
# Where a clause ends: punctuation, and the conjunctions that turn the sense around.
_CLAUSE_END = re.compile(
    r"[.!?;:,。！？；：，、\n]|\b(?:but|however|although|though|yet)\b|但是|可是|然而|不过|但",
    re.IGNORECASE)
_WORD = re.compile(r"[\w'’]+")
_EN_NEGATORS = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|does\s+not|didn'?t|did\s+not|won'?t|will\s+not|"
    r"no\s+need\s+for|no\s+need\s+to|no\s+longer\s+need|not|never|without)\b",
    re.IGNORECASE)
_EN_WINDOW_WORDS = 4
# Longest first, so the reported negator is the whole word ("不需要", not "不").
_ZH_NEGATORS = ("不需要", "暂不", "不用", "无需", "没有", "没", "别", "不")
_ZH_GAP = 2  # characters allowed between a Chinese negator and the phrase ("不需要再增加")
# Words that begin with a negator's character but do not negate.
_ZH_NOT_NEGATIONS = ("不错", "不少", "不断", "不仅", "不但", "不久", "不同", "别的", "别人",
                     "别处", "没错")
_DETERMINERS = r"(?:(?:our|the|a|an|my|your|their|its|some|any|this|that)[\s\-]+)?"
_SPELLINGS = {"licence": "licen[cs]e", "license": "licen[cs]e"}


@dataclass(frozen=True)
class Match:
    """One rule firing on one place of a text (or cancelled there by a negation)."""
    rule_key: str
    rule_name: str
    kind: OpportunityKind
    product: str | None
    phrase: str  # the words as the customer wrote them
    excerpt: str  # the sentence around them, at most EXCERPT_MAX characters
    start: int = 0
    end: int = 0
    cancelled_by: str | None = None  # the negation that cancelled it, as written


@runtime_checkable
class Detector(Protocol):
    """Anything that finds opportunity signals in a text."""

    def detect(self, text: str) -> list[Match]:
        """The matches that fire (negated ones left out)."""
        ...


@dataclass(frozen=True)
class PhraseRule:
    """What the phrase detector needs of a `SignalRule` row."""
    key: str
    name: str
    kind: OpportunityKind
    phrases: tuple[str, ...]
    product: str | None = None


def is_chinese(phrase: str) -> bool:
    """Whether a phrase is matched the Chinese way (it has CJK characters)."""
    return bool(_CJK.search(phrase))


def _word_pattern(word: str) -> str:
    return _plain_word_pattern(word.replace("’", "'")).replace("'", "['’]")


def _plain_word_pattern(word: str) -> str:
    lowered = word.lower()
    if lowered in _SPELLINGS:
        return _SPELLINGS[lowered] + "s?"
    if lowered.rstrip("s") in _SPELLINGS:
        return _SPELLINGS[lowered.rstrip("s")] + "s?"
    if len(lowered) > 3 and lowered.endswith("ies"):
        return re.escape(lowered[:-3]) + "(?:y|ies)"
    if len(lowered) > 2 and lowered.endswith("y") and lowered[-2] not in "aeiou":
        return re.escape(lowered[:-1]) + "(?:y|ies)"
    if len(lowered) > 3 and lowered.endswith("s") and not lowered.endswith("ss"):
        return re.escape(lowered[:-1]) + "(?:s|es)?"
    return re.escape(lowered) + "(?:s|es)?"


@lru_cache(maxsize=2048)
def phrase_pattern(phrase: str) -> re.Pattern:
    """The compiled pattern of one phrase (Chinese: substring; else words with variants)."""
    phrase = phrase.strip()
    if is_chinese(phrase):
        return re.compile(re.escape(phrase), re.IGNORECASE)
    words = [word for word in re.split(r"[\s\-]+", phrase) if word]
    body = (r"[\s\-]+" + _DETERMINERS).join(_word_pattern(word) for word in words)
    return re.compile(r"(?<![\w])" + body + r"(?![\w])", re.IGNORECASE)


def _clause_start(text: str, position: int) -> int:
    start = 0
    for boundary in _CLAUSE_END.finditer(text, 0, position):
        start = boundary.end()
    return start


def _english_negation(text: str, start: int) -> str | None:
    before = text[_clause_start(text, start):start]
    words = list(_WORD.finditer(before))[-_EN_WINDOW_WORDS:]
    if not words:
        return None
    window = before[words[0].start():].replace("’", "'")
    found = None
    for negator in _EN_NEGATORS.finditer(window):
        found = negator.group(0)
    return found


def _chinese_negation(text: str, start: int) -> str | None:
    clause_start = _clause_start(text, start)
    for gap in range(_ZH_GAP + 1):
        end = start - gap
        if end <= clause_start:
            break
        for negator in _ZH_NEGATORS:
            begin = end - len(negator)
            if begin < clause_start or text[begin:end] != negator:
                continue
            if any(text.startswith(word, begin) for word in _ZH_NOT_NEGATIONS):
                continue
            if 0 < begin and begin + 1 < len(text) and text[begin - 1] == text[begin + 1]:
                continue  # "有没有", "能不能": a question (A-not-A), not a negation
            return negator
    return None


def negation_before(text: str, start: int, chinese: bool) -> str | None:
    """The negator that cancels a phrase found at `start`, or None."""
    return _chinese_negation(text, start) if chinese else _english_negation(text, start)


def excerpt_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], cut to EXCERPT_MAX characters around it."""
    sentence_start = 0
    for boundary in _SENTENCE_END.finditer(text, 0, start):
        sentence_start = boundary.end()
    following = _SENTENCE_END.search(text, end)
    sentence_end = following.end() if following else len(text)
    sentence = text[sentence_start:sentence_end].strip()
    if len(sentence) <= EXCERPT_MAX:
        return sentence
    # Too long a sentence: a window centred on the phrase, marked as cut.
    room = max(EXCERPT_MAX - 2 - (end - start), 0)
    left = max(start - room // 2, sentence_start)
    right = min(left + EXCERPT_MAX - 2, sentence_end)
    left = max(min(left, right - (EXCERPT_MAX - 2)), sentence_start)
    cut = text[left:right].strip()
    return ("…" if left > sentence_start else "") + cut + ("…" if right < sentence_end else "")


def find_phrases(rule: PhraseRule, text: str) -> list[Match]:
    """Every place one rule's phrases occur in `text`, negated ones marked, in text order."""
    found: list[Match] = []
    for phrase in rule.phrases:
        chinese = is_chinese(phrase)
        for hit in phrase_pattern(phrase).finditer(text):
            found.append(Match(
                rule_key=rule.key, rule_name=rule.name, kind=rule.kind, product=rule.product,
                phrase=hit.group(0), excerpt=excerpt_around(text, hit.start(), hit.end()),
                start=hit.start(), end=hit.end(),
                cancelled_by=negation_before(text, hit.start(), chinese)))
    found.sort(key=lambda match: (match.start, -match.end))
    # One phrase inside another of the same rule ("换供应商" in "更换供应商") is one match.
    kept: list[Match] = []
    for match in found:
        if not any(other.start <= match.start and match.end <= other.end for other in kept):
            kept.append(match)
    return kept


def first_per_rule(matches: list[Match]) -> list[Match]:
    """The first firing match of each rule (a rule counts once per text)."""
    chosen: dict[str, Match] = {}
    for match in matches:
        if match.cancelled_by is None and match.rule_key not in chosen:
            chosen[match.rule_key] = match
    return list(chosen.values())


class PhraseDetector:
    """The built-in detector: the enabled phrase rules of `opportunity_rules`."""

    def rules(self) -> list[PhraseRule]:
        """The enabled rules (the built-in ones seeded on first read)."""
        from surveys.signals.rules import enabled_phrase_rules

        return enabled_phrase_rules()

    def explain(self, text: str) -> list[Match]:
        """Every occurrence of every enabled rule's phrases, cancelled ones included."""
        matches = [match for rule in self.rules() for match in find_phrases(rule, text)]
        return sorted(matches, key=lambda match: (match.start, match.rule_key))

    def detect(self, text: str) -> list[Match]:
        """The first firing match of each enabled rule."""
        return first_per_rule(self.explain(text))


_detectors: list[Detector] = [PhraseDetector()]


def register_detector(detector: Detector) -> None:
    """Add a detector (e.g. a classifier) asked beside the phrase rules by `detect()`.

    Its matches need a `rule_key` of their own (e.g. "classifier_upsell"): that key is what
    an opportunity's evidence records as the rule that fired.
    """
    if not isinstance(detector, Detector):
        raise TypeError("a detector needs a detect(text) method")
    if detector not in _detectors:
        _detectors.append(detector)


def unregister_detector(detector: Detector) -> None:
    """Remove a detector added by `register_detector()` (the phrase rules stay)."""
    if detector in _detectors and not isinstance(detector, PhraseDetector):
        _detectors.remove(detector)


def detect(text: str) -> list[Match]:
    """What every registered detector finds in `text`: one firing match per rule key."""
    if not text or not text.strip():
        return []
    matches = [match for detector in _detectors for match in detector.detect(text)]
    return first_per_rule(matches)


def explain(text: str) -> list[Match]:
    """Every match of every detector in `text`, including those a negation cancelled."""
    if not text or not text.strip():
        return []
    matches: list[Match] = []
    for detector in _detectors:
        explainer = getattr(detector, "explain", None)
        matches.extend(explainer(text) if callable(explainer) else detector.detect(text))
    return matches
