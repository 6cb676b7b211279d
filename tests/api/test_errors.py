"""The error mapping: complete over the error tree, one body shape for every error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from eioku.api.errors import STATUS_BY_ERROR, status_for
from eioku.domain import errors as domain_errors
from eioku.domain.errors import EiokuError, InvalidQuery, NotFound, StorageError
from tests.api.conftest import assert_error


def _tree(root: type[EiokuError]) -> Iterator[type[EiokuError]]:
    yield root
    for child in root.__subclasses__():
        yield from _tree(child)


def test_every_error_class_of_the_domain_has_an_explicit_status() -> None:
    domain_classes = {
        kind for kind in _tree(EiokuError) if kind.__module__ == domain_errors.__name__
    }
    missing = sorted(kind.__name__ for kind in domain_classes - set(STATUS_BY_ERROR))
    assert not missing, f"no HTTP status for {missing}"


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (domain_errors.NotFound, 404),
        (domain_errors.Conflict, 409),
        (domain_errors.RunStateError, 409),
        (domain_errors.InvalidInput, 400),
        (domain_errors.InvalidQuery, 400),
        (domain_errors.SchemaValidationError, 400),
        (domain_errors.SchemaNotFoundError, 400),
        (domain_errors.ProducerUnavailable, 503),
        (domain_errors.StorageError, 503),
        (domain_errors.SchemaRegistrationError, 500),
    ],
)
def test_status_follows_the_error_meaning(kind: type[EiokuError], status: int) -> None:
    assert status_for(kind("boom")) == status


def test_a_subclass_outside_the_domain_takes_its_parents_status() -> None:
    class PluginMissing(NotFound):
        code = "plugin_missing"

    assert status_for(PluginMissing("x")) == 404


@pytest.fixture
def faulty_client(app: FastAPI) -> Iterator[TestClient]:
    """The app plus routes that fail on purpose."""

    def storage_down() -> None:
        raise StorageError("database is down", details={"retry": True})

    def bad_query() -> None:
        raise InvalidQuery("no such kind")

    def bug() -> None:
        raise RuntimeError("a bug")

    for path, route in (("/storage", storage_down), ("/query", bad_query), ("/bug", bug)):
        app.add_api_route(f"/test{path}", route)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_domain_errors_get_the_standard_body_with_code_and_details(
    faulty_client: TestClient,
) -> None:
    body = assert_error(faulty_client.get("/test/storage"), 503, "storage_error")
    assert body["details"] == {"retry": True}
    assert_error(faulty_client.get("/test/query"), 400, "invalid_query")


def test_an_unexpected_exception_is_a_logged_500_internal_error(
    faulty_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = assert_error(faulty_client.get("/test/bug"), 500, "internal_error")
    assert "a bug" not in body["message"]
    assert any("unhandled error in GET /test/bug" in r.message for r in caplog.records)


def test_unknown_route_is_404_with_the_standard_body(client: TestClient) -> None:
    assert_error(client.get("/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_with_allow_header(client: TestClient) -> None:
    response = client.put("/v1/videos")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_validation_errors_are_400_with_field_details(client: TestClient) -> None:
    body = assert_error(client.get("/v1/videos", params={"limit": "many"}), 400, "invalid_input")
    assert body["details"]["errors"][0]["field"] == "query.limit"


def test_malformed_json_body_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/videos/v/artifacts",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400, "invalid_input")


def test_openapi_documents_400_not_422(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], (method, path)
    assert "ErrorBody" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
