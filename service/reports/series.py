"""How a rollup keeps its numbers: one row per series (a cut, a group, a detail, a
measure, a day or month), holding a count or a sum, a histogram, or the members of a
distinct count. Histograms and members are kept whole in one JSON value per row rather
than one row per bucket or member: a 12-month report reads hundreds of rows instead of
hundreds of thousands, and the rows take a tenth of the room.

Cells come in as the rollup's SQL gives them, one (slot, value) at a time: slot 0 and
the value for a count or a sum, a histogram bucket and its count, or a member's id.
"""
from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

VALUE, HISTOGRAM, MEMBERS = "value", "histogram", "members"


def kinds(measures: Mapping[str, Any], histograms: Mapping[str, str]) -> dict[str, str]:
    """Measure → how it is kept, for the measures stored: counts and sums as a VALUE,
    the percentiles' shared histograms (`histograms`: percentile → the histogram it is
    read from) as a HISTOGRAM, distinct counts as their MEMBERS."""
    kept = {name: VALUE for name, measure in measures.items() if measure.additive}
    kept.update({name: HISTOGRAM for name in set(histograms.values())})
    kept.update({name: MEMBERS for name, measure in measures.items()
                 if measure.kind == "distinct"})
    return kept


class Tally:
    """Series being added up: key → measure → a number, a histogram {slot: count} or a
    set of members."""

    def __init__(self, kept: Mapping[str, str]) -> None:
        self.kinds = kept
        self.series: dict[Any, dict[str, Any]] = {}

    def add(self, key: Any, measure: str, slot: int, value: float) -> None:
        """One cell as the rollup's SQL gives it."""
        kind = self.kinds[measure]
        numbers = self.series.setdefault(key, {})
        if kind == VALUE:  # PostgreSQL sums numerics as Decimal
            numbers[measure] = numbers.get(measure, 0.0) + float(value)
        elif kind == HISTOGRAM:
            histogram = numbers.setdefault(measure, {})
            histogram[slot] = histogram.get(slot, 0) + value
        else:
            numbers.setdefault(measure, set()).add(slot)

    def merge(self, key: Any, measure: str, kept: Any) -> None:
        """A series' number, histogram or members (as `decode` gives them) added in."""
        kind = self.kinds[measure]
        numbers = self.series.setdefault(key, {})
        if kind == VALUE:
            numbers[measure] = numbers.get(measure, 0.0) + kept
        elif kind == HISTOGRAM:
            histogram = numbers.setdefault(measure, {})
            for slot, count in kept.items():
                histogram[slot] = histogram.get(slot, 0) + count
        else:
            numbers.setdefault(measure, set()).update(kept)

    def items(self) -> Iterator[tuple[Any, str, Any]]:
        """(key, measure, what is kept) of every series."""
        for key, numbers in self.series.items():
            for measure, kept in numbers.items():
                yield key, measure, kept


def encode(kind: str, kept: Any) -> dict[str, Any]:
    """The `value` and `payload` columns of a series."""
    if kind == VALUE:
        return {"value": kept, "payload": None}
    if kind == HISTOGRAM:  # [slot, count, slot, count, …]
        flat = [number for slot in sorted(kept) for number in (slot, round(kept[slot]))]
        return {"value": None, "payload": json.dumps(flat, separators=(",", ":"))}
    return {"value": None, "payload": json.dumps(sorted(kept), separators=(",", ":"))}


def decode(kind: str, value: float | None, payload: str | None) -> Any:
    """A series' number, histogram {slot: count} or members (a list of ids)."""
    if kind == VALUE:
        return value or 0.0
    numbers = json.loads(payload or "[]")
    if kind == HISTOGRAM:
        pairs = iter(numbers)
        return dict(zip(pairs, pairs, strict=True))
    return numbers
