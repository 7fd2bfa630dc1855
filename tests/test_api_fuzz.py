"""schemathesis against the OpenAPI description of /api/v1, through the WSGI app: no input gives a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from webapp import create_app
from webapp.openapi import PREFIX, spec

EXAMPLES = 25  # per operation: enough to reach every parameter's edges, small enough for about a minute in all
OPERATIONS = [(path, method) for path, item in spec()["paths"].items() for method in item]


@pytest.fixture(scope="module")
def api_schema(hostile_kb):
    return schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", create_app(hostile_kb, {"TESTING": True}))


@pytest.mark.parametrize("path, method", OPERATIONS)
def test_no_generated_request_breaks_the_api(api_schema, path, method):
    operation = api_schema[path][method]

    # schemathesis' own pytest plugin does not yet run under pytest 9, so hypothesis drives each operation here.
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    check()
