"""Writing and publishing a help article in a real browser (Debian's Chromium + Playwright):
an agent writes a troubleshooting article with a table and a code block, watches the live
preview, sends it for review; a lead publishes it from the review queue. A screenshot of
the editor and of the published article are kept in test-artifacts/."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG

PASSWORD = "long-enough-password"
STEPS = """| Light | Meaning |
|---|---|
| red | paper jam |
| amber | toner low |

```
lpstat -p printer-3
```"""


@pytest.fixture
def kb_server(sqlite_template, tmp_path):
    """The app on a real port with an agent, a lead and a category."""
    path = tmp_path / "kb-console.db"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "TESTING": False})
    with app.app_context():
        from knowledge_base import categories
        from service.auth.services import create_user

        create_user("ana@kb.test", "agent", PASSWORD, "Ana Agent")
        lead = create_user("lena@kb.test", "lead", PASSWORD, "Lena Lead")
        categories.create_category(lead, {"slug": "printers", "name_en": "Printers",
                                          "name_zh": "打印机"})
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/tickets**")


def test_an_agent_writes_a_troubleshooting_article_and_a_lead_publishes_it(
        kb_server, page, artifacts):
    base, app = kb_server
    sign_in(page, base, "ana@kb.test")
    page.click("nav.console-nav >> text=Articles")
    page.wait_for_url("**/console/kb/articles")
    page.click("#new-article")
    page.click("a[data-kind=troubleshooting]")
    page.wait_for_url("**/console/kb/articles/new?kind=troubleshooting")

    page.fill("#title", "Printer 3 shows a red light")
    page.fill("#summary", "What the lights mean and how to clear a jam.")
    page.select_option("#category_id", label="Printers")
    page.fill("#tags", "printer, jam")
    page.fill("#section_symptoms", "The **red** light blinks and nothing prints.")
    page.fill("#section_cause", "Paper is stuck behind tray 2.")
    page.fill("#section_steps", STEPS)
    # The live preview (kb.js) renders the table and the code block while typing.
    page.wait_for_selector("#live-preview table")
    page.wait_for_selector("#live-preview pre code")
    preview = page.locator("#live-preview")
    assert "toner low" in preview.inner_text()
    assert "lpstat -p printer-3" in preview.locator("pre code").inner_text()
    assert preview.locator("h2", has_text="Symptoms").count() == 1
    page.screenshot(path=str(artifacts / "kb-console-editor.png"), full_page=True)

    page.click("#save-article")
    page.wait_for_url("**/console/kb/articles/*")
    assert page.locator("#article-title").inner_text() == "Printer 3 shows a red light"
    assert page.locator("#article-body table").count() == 1
    assert page.locator("button[data-action=published]").count() == 0  # agents do not publish
    page.click("button[data-action=in_review]")
    page.wait_for_load_state("load")
    assert "In review" in page.locator("#article-facts").inner_text()
    article_url = page.url

    lead_page = page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(lead_page, base, "lena@kb.test")
    lead_page.click("nav.console-nav >> text=Review queue")
    lead_page.wait_for_url("**/console/kb/review")
    row = lead_page.locator("#review-waiting tr", has_text="Printer 3 shows a red light")
    row.locator("button", has_text="Publish").click()
    lead_page.wait_for_url("**/console/kb/review")
    assert "Published." in lead_page.locator(".flash").inner_text()
    lead_page.goto(article_url)
    assert "Published" in lead_page.locator("#article-facts").inner_text()
    assert lead_page.locator("#help-link").count() == 1
    lead_page.screenshot(path=str(artifacts / "kb-console-article.png"), full_page=True)

    with app.app_context():
        from knowledge_base.models import Article, ArticleStatus

        article = db.session.scalar(db.select(Article))
        assert article.status == ArticleStatus.PUBLISHED
        assert "lpstat" in article.sections["steps"] and article.tags == ["printer", "jam"]
