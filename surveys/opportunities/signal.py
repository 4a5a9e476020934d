"""What a rule hands to the opportunities service: one reason to call, with its evidence."""
from __future__ import annotations

from dataclasses import dataclass, field

from surveys.models import EvidenceKind, OpportunityKind, OpportunitySource


@dataclass(frozen=True)
class Evidence:
    kind: EvidenceKind
    ref_id: int | None
    rule: str  # the rule's key, e.g. "nps_promoter", "more_seats_en"
    phrase: str | None = None  # the words that triggered it, as the customer wrote them
    excerpt: str | None = None  # the sentence around them (≤ 500 characters)


@dataclass(frozen=True)
class Signal:
    """A reason for sales to call: which account, what kind, why, and the evidence."""
    kind: OpportunityKind
    source: OpportunitySource
    reason: str  # in words, for the rep (stored as given; write it in English)
    evidence: tuple[Evidence, ...]
    account_id: int | None = None
    contact_id: int | None = None
    suggested_products: tuple[str, ...] = field(default_factory=tuple)
    estimated_value: int | None = None
