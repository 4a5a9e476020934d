"""Editing routing rules (ordered), and a dry run that shows where a ticket would go."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from service.auth.models import User
from service.directory.models import Account, AccountDomain, Contact, Skill, Team, Tier
from service.errors import InvalidInput, NotFound
from service.extensions import db
from service.validation import is_email, is_id, strip_controls
from tickets import routing
from tickets.intake import guess_language
from tickets.models import Channel, RoutingRule

LIST_FIELDS = ("channel", "category", "product", "language", "tier", "keywords")
MAX_VALUES = 100  # per condition: rules are read by people, not generated
MAX_VALUE_LENGTH = {"category": 80, "product": 80, "language": 10, "keywords": 100}
_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


def split_values(text: str | None) -> list[str]:
    """Comma- or newline-separated values (Chinese commas too), trimmed, without repeats."""
    values: list[str] = []
    for part in _SEPARATORS.split(strip_controls(text or "")):
        value = part.strip()
        if value and value.lower() not in {seen.lower() for seen in values}:
            values.append(value)
    return values


@dataclass
class RuleInput:
    """What an admin entered for a rule; conditions are lists, empty meaning "any"."""
    name: str
    team_id: int | None
    is_active: bool = True
    conditions: dict[str, list[str]] = field(default_factory=dict)
    required_skills: list[str] = field(default_factory=list)


def list_rules() -> list[RoutingRule]:
    """Every rule in evaluation order, with its team."""
    return list(db.session.scalars(select(RoutingRule).options(selectinload(RoutingRule.team))
                                   .order_by(RoutingRule.position, RoutingRule.id)))


def get_rule(rule_id: int) -> RoutingRule:
    """The rule with this id, or NotFound."""
    rule = db.session.get(RoutingRule, rule_id) if is_id(rule_id) else None
    if rule is None:
        raise NotFound("No such routing rule.")
    return rule


def team_choices() -> list[tuple[int, str]]:
    """(id, name) of every team, for a select."""
    return [(row.id, row.name) for row in db.session.execute(
        select(Team.id, Team.name).order_by(Team.name))]


def skill_names() -> list[str]:
    """Every skill's name, sorted."""
    return list(db.session.scalars(select(Skill.name).order_by(Skill.name)))


def _validate(data: RuleInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not data.name.strip() or len(data.name.strip()) > 120:
        errors["name"] = [_l("Give the rule a name of at most 120 characters.")]
    if not is_id(data.team_id) or db.session.get(Team, data.team_id) is None:
        errors["team_id"] = [_l("Choose the team that gets the matching tickets.")]
    allowed = {"channel": {channel.value for channel in Channel},
               "tier": {tier.value for tier in Tier}}
    for name, values in data.conditions.items():
        if name not in LIST_FIELDS:
            errors.setdefault(name, []).append(_l("Unknown condition."))
            continue
        unknown = [value for value in values if name in allowed and value not in allowed[name]]
        if unknown:
            errors[name] = [_l("Unknown value: %(values)s.", values=", ".join(unknown))]
        elif len(values) > MAX_VALUES:
            errors[name] = [_l("At most %(n)s values.", n=MAX_VALUES)]
        elif any(len(value) > MAX_VALUE_LENGTH.get(name, 20) for value in values):
            errors[name] = [_l("A value may have at most %(n)s characters.",
                              n=MAX_VALUE_LENGTH.get(name, 20))]
    known_skills = set(db.session.scalars(select(Skill.name).where(
        Skill.name.in_(data.required_skills)))) if data.required_skills else set()
    unknown_skills = [name for name in data.required_skills if name not in known_skills]
    if unknown_skills:
        errors["required_skills"] = [_l("Unknown skill: %(values)s.",
                                       values=", ".join(unknown_skills))]
    return errors


def save_rule(rule: RoutingRule | None, data: RuleInput) -> RoutingRule:
    """Create (rule None, placed last) or update a rule; InvalidInput names the bad fields.

    The routing snapshot watches RoutingRule, so this process routes by the change at
    once and other processes within the snapshot's TTL.
    """
    data.name = strip_controls(data.name or "")
    errors = _validate(data)
    if errors:
        raise InvalidInput(errors=errors)
    conditions = {name: list(values) for name, values in data.conditions.items() if values}
    if rule is None:
        last = db.session.scalar(select(func.max(RoutingRule.position)))
        rule = RoutingRule(position=(last + 1) if last is not None else 0)
        db.session.add(rule)
    rule.name = data.name.strip()
    rule.team = db.session.get(Team, data.team_id)  # the relationship, not only the id
    rule.is_active = data.is_active
    rule.conditions = conditions
    rule.required_skills = sorted(set(data.required_skills))
    db.session.flush()
    return rule


def delete_rule(rule: RoutingRule) -> None:
    """Delete a rule; later rules keep their order."""
    db.session.delete(rule)
    db.session.flush()


def move_rule(rule: RoutingRule, direction: str) -> bool:
    """Swap a rule with its neighbour ("up" or "down"); False when already at that end.

    Every rule is locked and renumbered 0..n-1 in one transaction, so equal positions
    left by older data cannot make a swap a no-op and two concurrent moves serialise.
    """
    if direction not in ("up", "down"):
        raise InvalidInput(errors={"direction": [_l("Move a rule up or down.")]})
    rules = list(db.session.scalars(select(RoutingRule)
                                    .order_by(RoutingRule.position, RoutingRule.id)
                                    .with_for_update()))
    index = next(i for i, candidate in enumerate(rules) if candidate.id == rule.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rules):
        return False
    rules[index], rules[other] = rules[other], rules[index]
    for position, candidate in enumerate(rules):
        if candidate.position != position:
            candidate.position = position
    db.session.flush()
    return True


# ---- dry run ----

@dataclass
class DryRunInput:
    """A hypothetical ticket, as intake would see it."""
    subject: str = ""
    description: str = ""
    channel: str = Channel.WEB.value
    category: str | None = None
    product: str | None = None
    language: str | None = None
    customer_email: str | None = None
    tier: str | None = None  # None: the customer's account decides


@dataclass(frozen=True)
class RuleCheck:
    """One active rule as the dry run evaluated it."""
    rule: RoutingRule
    failed: list[str]  # the conditions that did not hold; empty when it matched


@dataclass(frozen=True)
class DryRun:
    facts: routing.TicketFacts
    contact: Contact | None
    account: Account | None
    route: routing.Route
    team: Team | None
    checks: list[RuleCheck]
    candidates: list[routing.Candidate]  # best first
    chosen: User | None


def dry_run(data: DryRunInput) -> DryRun:
    """Route and assign a hypothetical ticket with intake's own logic, writing nothing."""
    errors: dict[str, list[str]] = {}
    if data.channel not in {channel.value for channel in Channel}:
        errors["channel"] = [_l("Choose a channel.")]
    if data.tier and data.tier not in {tier.value for tier in Tier}:
        errors["tier"] = [_l("Choose a tier.")]
    email = (data.customer_email or "").strip().lower()
    if email and not is_email(email):
        errors["customer_email"] = [_l("Not a valid email address.")]
    if errors:
        raise InvalidInput(errors=errors)
    contact, account = _customer(email) if email else (None, None)
    text = f"{data.subject}\n{data.description}"
    tier = data.tier or (account.tier.value if account else None)
    facts = routing.TicketFacts(
        channel=data.channel, category=data.category or None, product=data.product or None,
        language=data.language or (contact.language if contact else None)
        or guess_language(text), tier=tier, text=text)
    route = routing.route(facts)
    dedicated_id = account.dedicated_agent_id if account is not None else None
    candidates = routing.preview_candidates(route.team_id, route.required_skills, dedicated_id)
    chosen = routing.best_candidate(candidates)
    candidates.sort(key=lambda item: (item.agent is not chosen, not item.eligible,
                                      routing.ranking(item)))
    team = db.session.get(Team, route.team_id) if route.team_id else None
    return DryRun(facts=facts, contact=contact, account=account, route=route, team=team,
                  checks=_checks(facts), candidates=candidates, chosen=chosen)


def _customer(email: str) -> tuple[Contact | None, Account | None]:
    """The contact with this address and their account; for a new address, the account
    its domain would join (as intake does), all without creating anything."""
    contact = db.session.scalar(select(Contact).where(Contact.email == email))
    if contact is not None:
        return contact, contact.account
    account = db.session.scalar(select(Account).join(
        AccountDomain, AccountDomain.account_id == Account.id).where(
        AccountDomain.domain == email.rpartition("@")[2]))
    return None, account


def _checks(facts: routing.TicketFacts) -> list[RuleCheck]:
    """Active rules in order up to the first match, each with the conditions it failed."""
    checks = []
    for rule in list_rules():
        if not rule.is_active:
            continue
        conditions = rule.conditions or {}
        failed = [name for name in LIST_FIELDS
                  if conditions.get(name) and not routing.rule_matches({name: conditions[name]},
                                                                       facts)]
        checks.append(RuleCheck(rule, failed))
        if not failed:
            break
    return checks
