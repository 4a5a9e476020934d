"""The CRM export: formula injection defused, Chinese kept, BOM for Excel, evidence URLs."""
from __future__ import annotations

import csv
import io

import pytest

from service.extensions import db
from surveys.models import EvidenceKind, OpportunityKind
from surveys.opportunities import export
from surveys.opportunities.signal import Evidence, Signal
from tests.surveys.test_opportunities import make_account, make_contact, record, signal


@pytest.mark.parametrize("text, expected", [
    ('=HYPERLINK("http://evil.test","click")', '\'=HYPERLINK("http://evil.test","click")'),
    ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("需要更多账号", "需要更多账号"), (None, ""), (12, "12"),
])
def test_safe_cell(text, expected):
    assert export.safe_cell(text) == expected


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith(export.BOM)
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_injection_in_reason_and_account_name_is_defused(make_user):
    account = make_account('=HYPERLINK("http://evil.test","x")')
    contact = make_contact(account, name="@李雷")
    record(Signal(kind=OpportunityKind.UPSELL, source=signal().source,
                  reason="-需要增加账号 (more seats)", contact_id=contact.id,
                  evidence=(Evidence(EvidenceKind.TICKET, 7, "more_seats_zh", "增加账号"),),
                  suggested_products=("+Seats",)))
    [row] = _rows(export.export_csv(db.session.scalars(
        db.select(export.Opportunity)).all()))
    assert row["account"] == '\'=HYPERLINK("http://evil.test","x")'
    assert row["contact_name"] == "'@李雷"
    assert row["reason"] == "'-需要增加账号 (more seats)"
    assert row["suggested_products"] == "'+Seats"
    assert row["evidence"].endswith("/console/tickets/7")
    assert row["url"].endswith(f"/console/opportunities/{row['id']}")


def test_chinese_survives_utf8_with_bom(make_user):
    record(signal(make_account("北京科技有限公司"), reason="客户需要更多账号"))
    raw = export.export_csv(db.session.scalars(db.select(export.Opportunity)).all())
    data = raw.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    [row] = _rows(data.decode("utf-8"))
    assert row["account"] == "北京科技有限公司" and row["reason"] == "客户需要更多账号"
    assert row["status"] == "new" and row["kind"] == "upsell"


def test_export_csv_in_chunks(make_user):
    for number in range(3):
        record(signal(make_account(f"Co {number}")))
    lines = list(export.csv_lines(db.session.scalars(db.select(export.Opportunity)).all()))
    assert len(_rows("".join(lines))) == 3
