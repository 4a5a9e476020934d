"""JSON API of the opportunity signal rules (admins): parse → call a service → dump."""
from __future__ import annotations

from flask import Blueprint

from service.api import current_user, doc, json_body
from service.auth.permissions import Permission, require
from service.extensions import db
from surveys.signals import rules
from surveys.signals.schemas import (SignalRuleIn, SignalRuleListOut, SignalRuleOut,
                                     SignalRulePatch, SignalRuleTestIn, SignalRuleTestOut)

blueprint = Blueprint("signal_rules_api", __name__)

_in, _patch, _out, _list = SignalRuleIn(), SignalRulePatch(), SignalRuleOut(), SignalRuleListOut()
_test_in, _test_out = SignalRuleTestIn(), SignalRuleTestOut()


def _admin() -> None:
    require(current_user(), Permission.SURVEY_ADMIN)


@blueprint.get("/admin/opportunity-rules")
@doc("Every opportunity rule (the built-in ones too), by kind and key", tags=["admin"],
     responses={200: SignalRuleListOut})
def list_all():
    _admin()
    items = rules.list_rules()
    db.session.commit()  # the built-in rules are seeded on the first read
    return _list.dump({"items": items})


@blueprint.post("/admin/opportunity-rules")
@doc("Add a phrase rule; 409 when its key is taken", tags=["admin"], body=SignalRuleIn,
     responses={201: SignalRuleOut})
def create():
    _admin()
    rule = rules.create_rule(json_body(_in))
    db.session.commit()
    return _out.dump(rule), 201


@blueprint.get("/admin/opportunity-rules/<id:rule_id>")
@doc("One opportunity rule", tags=["admin"], responses={200: SignalRuleOut})
def get_one(rule_id: int):
    _admin()
    return _out.dump(rules.get_rule(rule_id))


@blueprint.patch("/admin/opportunity-rules/<id:rule_id>")
@doc("Change a rule's name, kind, language, phrases, product or enabled (not its key)",
     tags=["admin"], body=SignalRulePatch, responses={200: SignalRuleOut})
def patch_one(rule_id: int):
    _admin()
    changes = json_body(_patch)
    rule = rules.update_rule(rules.get_rule(rule_id), changes)
    db.session.commit()
    return _out.dump(rule)


@blueprint.delete("/admin/opportunity-rules/<id:rule_id>")
@doc("Delete an admin's rule; a built-in one answers 409 (disable it instead)",
     tags=["admin"])
def delete_one(rule_id: int):
    _admin()
    rules.delete_rule(rules.get_rule(rule_id))
    db.session.commit()
    return "", 204


@blueprint.post("/admin/opportunity-rules/test")
@doc("Which enabled rules fire on a sample text, and which a negation cancelled (nothing "
     "is saved)", tags=["admin"], body=SignalRuleTestIn, responses={200: SignalRuleTestOut})
def test_text():
    _admin()
    matches = rules.test_text(json_body(_test_in)["text"])
    db.session.commit()  # the built-in rules are seeded on the first read
    return _test_out.dump({"matches": rules.describe_matches(matches)})
