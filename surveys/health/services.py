"""Account health: one score per account over the last 90 days, kept with its history.

The formula (also in the docs, with a worked example) starts at 100 and subtracts:

- CSAT: (4.5 − average CSAT) × 10 points when the average is below 4.5 (at most 35);
- NPS: the share of the account's NPS answers that are detractors (0–6) × 30;
- reopen rate: the share of its tickets reopened at least once × 20;
- SLA breach rate: the share of its tickets with a breached SLA target × 20;
- open complaints: 5 points per open complaint ticket, at most 15.

An input with no data subtracts nothing; an account with no data at all scores NEUTRAL.
The score is rounded and clamped to 0–100; bands: healthy ≥ 70, watch 40–69, at risk < 40.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from service.db_types import utcnow
from service.directory.models import Account
from service.errors import NotFound
from service.extensions import db
from surveys.models import AccountHealth, HealthBand, SurveyKind, SurveyResponse
from tickets import facts

WINDOW_DAYS = 90
NEUTRAL = 70  # no answers, no tickets, no complaints: nothing known either way
CSAT_TARGET = 4.5
CSAT_WEIGHT = 10  # points per CSAT point below the target
NPS_WEIGHT = 30  # points for a detractor share of 100 %
REOPEN_WEIGHT = 20
BREACH_WEIGHT = 20
COMPLAINT_POINTS, COMPLAINT_CAP = 5, 15
HEALTHY_MIN, WATCH_MIN = 70, 40
STALE_AFTER = timedelta(days=1)  # a new history row at least daily, even when unchanged


@dataclass(frozen=True)
class HealthInputs:
    """What the score is computed from (the last 90 days, complaints open now)."""
    csat_count: int = 0
    csat_sum: int = 0
    nps_count: int = 0
    nps_detractors: int = 0
    tickets: int = 0
    reopened: int = 0
    breached: int = 0
    open_complaints: int = 0

    @property
    def empty(self) -> bool:
        return not (self.csat_count or self.nps_count or self.tickets or self.open_complaints)


@dataclass(frozen=True)
class HealthScore:
    score: int
    band: HealthBand
    components: dict


def band_for(score: int) -> HealthBand:
    """The band of a 0–100 score."""
    if score >= HEALTHY_MIN:
        return HealthBand.HEALTHY
    return HealthBand.WATCH if score >= WATCH_MIN else HealthBand.AT_RISK


def score_inputs(inputs: HealthInputs) -> HealthScore:
    """The score, band and each component's value and points for these inputs."""
    if inputs.empty:
        return HealthScore(NEUTRAL, band_for(NEUTRAL), {"no_data": True})
    components: dict[str, dict] = {}

    def add(name: str, value: float | int | None, points: float, count: int) -> None:
        components[name] = {"value": None if value is None else round(value, 3),
                            "points": round(points, 2), "count": count}

    average = inputs.csat_sum / inputs.csat_count if inputs.csat_count else None
    csat_points = max(0.0, CSAT_TARGET - average) * CSAT_WEIGHT if average is not None else 0.0
    add("csat", average, csat_points, inputs.csat_count)
    share = inputs.nps_detractors / inputs.nps_count if inputs.nps_count else None
    add("nps_detractors", share, (share or 0.0) * NPS_WEIGHT, inputs.nps_count)
    reopen = inputs.reopened / inputs.tickets if inputs.tickets else None
    add("reopen_rate", reopen, (reopen or 0.0) * REOPEN_WEIGHT, inputs.tickets)
    breach = inputs.breached / inputs.tickets if inputs.tickets else None
    add("sla_breach_rate", breach, (breach or 0.0) * BREACH_WEIGHT, inputs.tickets)
    add("open_complaints", inputs.open_complaints,
        min(COMPLAINT_CAP, COMPLAINT_POINTS * inputs.open_complaints), inputs.open_complaints)
    penalty = sum(component["points"] for component in components.values())
    score = max(0, min(100, round(100 - penalty)))
    return HealthScore(score, band_for(score), components)


def gather_inputs(account_id: int, now: datetime) -> HealthInputs:
    """The account's answers and ticket facts over the window (two queries)."""
    since = now - timedelta(days=WINDOW_DAYS)
    is_csat = SurveyResponse.kind == SurveyKind.CSAT
    is_nps = SurveyResponse.kind == SurveyKind.NPS
    row = db.session.execute(select(
        func.count().filter(is_csat),
        func.sum(case((is_csat, SurveyResponse.score), else_=0)),
        func.count().filter(is_nps),
        func.count().filter(is_nps, SurveyResponse.score <= 6),
    ).where(SurveyResponse.account_id == account_id, SurveyResponse.created_at >= since)).one()
    stats = facts.account_ticket_stats(account_id, since)
    csat_count, csat_sum, nps_count, detractors = (int(value or 0) for value in row)
    return HealthInputs(csat_count=csat_count, csat_sum=csat_sum, nps_count=nps_count,
                        nps_detractors=detractors, tickets=stats.tickets,
                        reopened=stats.reopened, breached=stats.breached,
                        open_complaints=stats.open_complaints)


def current(account_id: int) -> AccountHealth | None:
    """The account's newest health row, or None before the first computation."""
    return db.session.scalar(select(AccountHealth).where(AccountHealth.account_id == account_id)
                             .order_by(AccountHealth.computed_at.desc(),
                                       AccountHealth.id.desc()).limit(1))


def history(account_id: int, limit: int = 10) -> list[AccountHealth]:
    """The account's health rows, newest first."""
    return list(db.session.scalars(
        select(AccountHealth).where(AccountHealth.account_id == account_id)
        .order_by(AccountHealth.computed_at.desc(), AccountHealth.id.desc()).limit(limit)))


def recompute(account_id: int, now: datetime | None = None) -> AccountHealth:
    """Compute the account's score now (no commit); a history row is added only when the
    score or band changed or the newest row is older than a day (otherwise the newest row
    takes the new breakdown, so the page never explains a score with stale inputs)."""
    now = now or utcnow()
    if db.session.get(Account, account_id) is None:
        raise NotFound("No such account.")
    result = score_inputs(gather_inputs(account_id, now))
    last = current(account_id)
    if (last is not None and last.score == result.score and last.band == result.band
            and last.computed_at > now - STALE_AFTER):
        if last.components != result.components:
            last.components = result.components
        return last
    row = AccountHealth(account_id=account_id, score=result.score, band=result.band,
                        components=result.components, computed_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def refresh_stale(now: datetime | None = None, limit: int = 200) -> int:
    """Recompute accounts never scored or last scored over a day ago; returns how many."""
    now = now or utcnow()
    latest = (select(AccountHealth.account_id, func.max(AccountHealth.computed_at).label("at"))
              .group_by(AccountHealth.account_id).subquery())
    account_ids = list(db.session.scalars(
        select(Account.id).outerjoin(latest, latest.c.account_id == Account.id)
        .where((latest.c.at.is_(None)) | (latest.c.at <= now - STALE_AFTER))
        .order_by(Account.id).limit(limit)))
    for account_id in account_ids:
        recompute(account_id, now)
    db.session.commit()
    return len(account_ids)
