"""Text handling shared by the search backends: normalisation, words, Chinese pairs, the
text indexed per article, and the terms of a query."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Han (with extensions A and compatibility ideographs), kana, bopomofo and hangul: no spaces
# between words, so they are matched by overlapping pairs rather than by words.
_CJK = "\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")

MAX_QUERY_CHARS = 500  # longer queries are cut: nobody types more, and terms stay few
MAX_TERMS = 16
MAX_WORD = 100  # kb_search_terms.term is VARCHAR(100); longer "words" are noise
VOCABULARY_MIN = 4  # typo tolerance: vocabulary words and corrected words have ≥ 4 chars

# Dropped from queries (unless nothing else is left): they match nearly every article and
# would only slow the relaxed pass down.
STOPWORDS = frozenset("""
a an and are as at be but by can could did do does doing for from had has have how i if in
into is it its me my no not of on or our so than that the their them then there these they
this to too was we were what when where which who why will with would you your
""".split())


def normalise(text: str | None) -> str:
    """NFKC, lower case (full-width letters and digits become ASCII)."""
    return unicodedata.normalize("NFKC", text or "").lower()


def is_cjk(token: str) -> bool:
    """Whether a token (from `tokens`) is a run of CJK characters."""
    return bool(_CJK_RUN.fullmatch(token))


def tokens(text: str) -> list[str]:
    """Latin/digit words and CJK runs of normalised text, in order."""
    return _TOKEN.findall(text)


def pairs(run: str) -> list[str]:
    """Overlapping two-character pairs of a CJK run ("申请退款" → 申请 请退 退款)."""
    if len(run) < 2:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def words(text: str) -> list[str]:
    """The Latin/digit words of normalised text (length-capped)."""
    return [token for token in tokens(text) if not is_cjk(token) and len(token) <= MAX_WORD]


def all_pairs(text: str) -> list[str]:
    """Every CJK pair of normalised text, in order."""
    return [pair for run in _CJK_RUN.findall(text) for pair in pairs(run)]


def pairs_doc(text: str) -> str:
    """The pairs column of SQLite: " 申请 请退 退款 " (a trigram " 退款" finds 退款)."""
    found = all_pairs(text)
    return f" {' '.join(found)} " if found else ""


def vector_doc(text: str) -> str:
    """The words then the pairs, space-separated: what PostgreSQL's 'simple' config splits."""
    return " ".join(words(text) + all_pairs(text))


def is_vocabulary_word(word: str) -> bool:
    """A word typo tolerance knows and corrects: ASCII letters only, ≥ 4 of them."""
    return len(word) >= VOCABULARY_MIN and word.isalpha() and word.isascii()


def vocabulary(text: str) -> set[str]:
    """What kb_search_terms counts per article: the Latin words of typo tolerance and the
    CJK pairs (their article counts tell the relaxed pass which pairs exist and which are
    too common to mean anything, like "但是")."""
    return {word for word in words(text) if is_vocabulary_word(word)} | {
        pair for pair in all_pairs(text) if len(pair) == 2}


@dataclass
class QueryTerms:
    """The terms of a query: what each pass matches and what snippets mark."""

    text: str  # normalised query
    long_words: list[str] = field(default_factory=list)  # Latin ≥ 3 chars: substring/prefix
    short_words: list[str] = field(default_factory=list)  # Latin < 3, single CJK characters
    runs: list[str] = field(default_factory=list)  # CJK runs ≥ 2 chars

    @property
    def strict(self) -> list[str]:
        """Every one must match: long words and CJK runs (a run of 2 is itself a pair)."""
        return self.long_words + self.runs

    @property
    def units(self) -> list[str]:
        """The relaxed pass's units: long words and the distinct pairs of the runs."""
        seen: dict[str, None] = dict.fromkeys(self.long_words)
        for run in self.runs:
            seen.update(dict.fromkeys(pairs(run)))
        return list(seen)[:MAX_TERMS * 2]

    @property
    def empty(self) -> bool:
        return not (self.long_words or self.short_words or self.runs)

    def marks(self) -> list[str]:
        """Everything a snippet highlights: terms, runs and their pairs."""
        return list(dict.fromkeys(self.strict + self.units + self.short_words))


def query_terms(text: str | None) -> QueryTerms:
    """Split a query into its terms (distinct, in order, at most MAX_TERMS)."""
    normal = normalise((text or "")[:MAX_QUERY_CHARS])
    found = QueryTerms(normal)
    latin: list[str] = []
    for token in dict.fromkeys(tokens(normal)):
        if is_cjk(token):
            (found.runs if len(token) >= 2 else found.short_words).append(token)
        elif len(token) <= MAX_WORD:
            latin.append(token)
    meaningful = [word for word in latin if word not in STOPWORDS]
    if meaningful or found.runs:
        latin = meaningful
    for word in latin:
        (found.long_words if len(word) >= 3 else found.short_words).append(word)
    found.long_words = found.long_words[:MAX_TERMS]
    found.runs = found.runs[:MAX_TERMS]
    found.short_words = found.short_words[:MAX_TERMS]
    return found


def replace_words(text: str, corrections: dict[str, str]) -> str:
    """The normalised query with corrected words swapped in (the query as searched)."""
    return _TOKEN.sub(lambda match: corrections.get(match.group(0), match.group(0)), text)


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(word: str) -> int:
    """Typo tolerance: one edit up to 5 characters, two above."""
    return 1 if len(word) <= 5 else 2


@dataclass(frozen=True)
class ArticleDocument:
    """The text indexed for one article, NFKC-normalised (case kept for snippets)."""

    title: str
    summary: str
    body: str  # plain text of the kind's sections, then of the body
    tags: str

    @property
    def normalised(self) -> str:
        return normalise(" ".join((self.title, self.summary, self.body, self.tags)))


def _plain_text(markdown: str) -> str:
    from knowledge_base.markdown import plain_text

    return plain_text(markdown)


def article_document(article) -> ArticleDocument:
    """Title, summary, tags and body text (sections in the kind's order, then the body)."""
    from knowledge_base.models import KIND_SECTIONS, ArticleKind

    sections = article.sections or {}
    parts = [sections.get(key) or "" for key in KIND_SECTIONS.get(ArticleKind(article.kind), ())]
    body = "\n".join(filter(None, (_plain_text(part) for part in [*parts, article.body or ""])))

    def nfkc(value: str | None) -> str:
        return unicodedata.normalize("NFKC", value or "")

    return ArticleDocument(nfkc(article.title), nfkc(article.summary), nfkc(body),
                           nfkc(" ".join(article.tags or [])))


def required_matches(known_words: int, known_pairs: int) -> int:
    """How many distinct units a relaxed hit must match: about half of the query's words
    and a third of its pairs (a Chinese sentence's pairs also span word boundaries), counting
    only units some article contains. Two pairs at least when the query has two: one
    shared pair alone ("退款" in "电子退款") is too weak a reason to show an article."""
    need = -(-(known_words * 50 + known_pairs * 34) // 100)
    if known_pairs >= 2:
        need = max(need, 2)
    return max(1, min(need, known_words + known_pairs))
