"""The leads' dashboard shows the knowledge base's self-service numbers for its period."""
from __future__ import annotations

from knowledge_base.models import DeflectionSource, SearchSource
from knowledge_base.searches import record_search
from service.db_types import utcnow
from service.extensions import db
from tests.knowledge_base.test_stats import article, deflect


def test_leads_see_deflections_and_content_gaps(client, make_user, console_login,
                                                support_team):
    refund = article("How to request a refund")
    deflect(refund, DeflectionSource.WEB_FORM, utcnow())
    deflect(refund, DeflectionSource.PORTAL, utcnow())
    record_search("invoice <b>pdf</b> blank", SearchSource.HELP_CENTRE, language="en", results=0)
    db.session.commit()
    console_login(client, make_user("lead", team=support_team))
    html = client.get("/console/dashboard").get_data(as_text=True)
    assert 'id="kb-self-service"' in html
    assert '<dd id="kb-dash-deflections">2</dd>' in html
    assert '<dd id="kb-dash-gaps">1</dd>' in html
    assert "invoice &lt;b&gt;pdf&lt;/b&gt; blank" in html  # escaped
    assert "/console/kb/numbers" in html
