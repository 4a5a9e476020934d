"""Daily rollups of the slow reports (service.reports.rollup): derived data, rebuilt by a
job, never edited by hand; dropping every row only makes reports count live again."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime
from service.extensions import db


class RollupCell(db.Model):
    """One series of one report on one local day (span "day") or one whole local month
    (span "month", `day` its 1st): a count or a sum (`value`), or a percentile's
    histogram or a distinct count's members (`payload`, JSON: service.reports.series).

    Its cut says which rows it counts: "total", every row of the report; "by", the rows of
    one group of the report's rollup dimension (`key`: a team's id, "" for rows of none);
    a detail's name (e.g. "channel"), the rows of one such group and one value of that
    detail (`detail`: "email"). The primary key leads with what every read names:
    report, span, cut, measure, then the range of days.
    """

    __tablename__ = "report_rollup_cells"

    report: Mapped[str] = mapped_column(String(40), primary_key=True)
    span: Mapped[str] = mapped_column(String(5), primary_key=True)
    cut: Mapped[str] = mapped_column(String(16), primary_key=True)
    measure: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    detail: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[str | None] = mapped_column(Text)


class RollupDay(db.Model):
    """A local day whose cells of one report are built: when, and in which zone."""

    __tablename__ = "report_rollup_days"

    report: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
