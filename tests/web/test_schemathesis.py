"""Property-based run of schemathesis against the app's own OpenAPI document, in process.

Every operation gets schema-conforming (positive) and schema-breaking (negative) requests from a signed-in
chair; every answer must be a non-5xx with a documented status, content type and body (errors in the one
shape). Bounded: a fixed number of examples per operation and mode, no shrinking, derandomized.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from caucus.ledger import verify_chain
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, assert_error

EXAMPLES = 75
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)


def _send(web: Web, case: Any, token: str) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})
    response = web.client.request(
        kwargs["method"], kwargs["url"], headers=kwargs.get("headers"), params=kwargs.get("params"),
        json=kwargs.get("json"), content=kwargs.get("data"),
    )
    return kwargs, response


def _exercise(web: Web, operation: Any, mode: GenerationMode, token: str, seen: Counter[tuple[str, int]]) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        # signing out must not end the session the other operations use
        own = web.sign_in(GRINNELL).token if label == "DELETE /api/v1/session" else token
        kwargs, response = _send(web, case, own)
        seen[(label, response.status_code)] += 1
        case.validate_response(response, checks=checks, transport_kwargs=kwargs)
        if response.status_code >= 400:
            assert_error(response, response.status_code)

    run()


def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(web_sqlite: Web) -> None:
    web = web_sqlite
    token = web.sign_in(GRINNELL).token
    schema = schemathesis.openapi.from_dict(web.app.openapi())
    seen: Counter[tuple[str, int]] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        _exercise(web, operation, GenerationMode.POSITIVE, token, seen)
        if operation.body or operation.headers or operation.query:  # nothing to break otherwise
            _exercise(web, operation, GenerationMode.NEGATIVE, token, seen)
    assert not [key for key in seen if key[1] >= 500], seen
    statuses = {status for (label, status) in seen if label == "POST /api/v1/reports"}
    assert {201, 409, 422} <= statuses, seen  # the run reached the ledger, the stage rules and the checks
    assert verify_chain(web.engine, SLUG).ok
