"""docs/permissions.md states the permission matrix the code enforces."""
from __future__ import annotations

import re

from service import ROOT
from service.auth.models import Role
from service.auth.permissions import ROLE_PERMISSIONS, Permission


def _documented() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    table = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    rows = [line for line in table.strip().splitlines() if line.startswith("|")]
    roles = [cell.strip() for cell in rows[0].strip("|").split("|")][1:]
    documented = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        name = re.sub(r"`", "", cells[0])
        marks = zip(roles, cells[1:], strict=True)
        documented[name] = {role for role, mark in marks if mark == "yes"}
    return documented


def test_every_permission_is_documented_with_the_roles_that_hold_it():
    documented = _documented()
    assert set(documented) == {permission.value for permission in Permission}
    for permission, roles in ROLE_PERMISSIONS.items():
        assert documented[permission.value] == {role.value for role in roles}, permission


def test_the_matrix_names_every_role():
    header = _documented()
    assert header  # parsed
    text = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    for role in Role:
        assert f"| {role.value} " in text or f" {role.value} |" in text
