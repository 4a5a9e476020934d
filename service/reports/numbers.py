"""Exact arithmetic on the counts the SQL returns: percentages, averages, NPS.

Counts and sums come from SQL; the divisions are done here with fractions and rounded half
away from zero, so SQLite and PostgreSQL (whose AVG types differ) give the same digits.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def rounded(value: Fraction | int, places: int = 1) -> float:
    """`value` rounded half away from zero to `places` decimals."""
    fraction = Fraction(value)
    sign = -1 if fraction < 0 else 1
    exact = Decimal(abs(fraction.numerator)) / Decimal(fraction.denominator)
    quantum = Decimal(1).scaleb(-places)
    return sign * float(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def percent(part: int | None, whole: int | None, places: int = 1) -> float | None:
    """100 · part / whole rounded, or None when there is nothing to divide."""
    if not whole:
        return None
    return rounded(Fraction(100 * (part or 0), whole), places)


def average(total: int | None, count: int | None, places: int = 2) -> float | None:
    """total / count rounded, or None when nothing was counted."""
    if not count:
        return None
    return rounded(Fraction(total or 0, count), places)


def nps_score(promoters: int, detractors: int, total: int) -> float | None:
    """Net Promoter Score: % promoters − % detractors, one decimal (−100 to 100)."""
    if not total:
        return None
    return rounded(Fraction(100 * (promoters - detractors), total), 1)
