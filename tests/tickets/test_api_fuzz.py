"""Property-based requests from our own OpenAPI document: no input ever gets a 5xx."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings


@schemathesis.serializer("message/rfc822")
def _raw_mail(_ctx, value) -> bytes:
    """Whatever the strategy made, as raw bytes: the inbound pipe takes any bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")


@pytest.fixture
def fuzz_headers(auth, make_user, support_team, make_ticket):
    make_ticket()  # something to find, change and reply to
    return auth(make_user("admin", team=support_team))


def test_generated_requests_never_get_a_server_error(app, fuzz_headers):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(headers=fuzz_headers)
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                case.body, response.text[:300])

        call()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 9, checked
