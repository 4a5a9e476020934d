"""Which routing rules require which skills, for pages that rename or delete a skill.

Rules name their required skills (RoutingRule.required_skills, a JSON list of names), so a
renamed or deleted skill silently stops matching any agent: tickets routed by such a rule
would wait unassigned. Admin pages ask here first and warn.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from service.extensions import db
from tickets.models import RoutingRule


@dataclass(frozen=True)
class RuleUse:
    rule_id: int
    name: str
    is_active: bool


def rules_requiring_skills() -> dict[str, list[RuleUse]]:
    """Skill name → the routing rules (in rule order) that require it."""
    # Rules are few (an admin writes each one): one query, filtered here, portable across
    # SQLite and PostgreSQL JSON.
    uses: dict[str, list[RuleUse]] = {}
    for rule_id, name, is_active, required in db.session.execute(
            select(RoutingRule.id, RoutingRule.name, RoutingRule.is_active,
                   RoutingRule.required_skills)
            .order_by(RoutingRule.position, RoutingRule.id)):
        for skill in sorted(set(required or ())):
            if isinstance(skill, str):
                uses.setdefault(skill, []).append(RuleUse(rule_id, name, is_active))
    return uses


def rules_requiring_skill(name: str) -> list[RuleUse]:
    """The routing rules that require this skill name, in rule order."""
    return rules_requiring_skills().get(name, [])
