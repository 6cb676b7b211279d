"""The schema registry: (artifact_type, schema_version) -> Pydantic model (SPEC §3)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from eioku.domain.envelope import field_errors
from eioku.domain.errors import (
    SchemaNotFoundError,
    SchemaRegistrationError,
    SchemaValidationError,
)

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "eioku.schemas"

SchemaKey = tuple[str, int]


class SchemaRegistry:
    """Maps each (artifact_type, schema_version) to the Pydantic model of its payload.

    A published pair is immutable: registering it twice is a programming error, so a
    plugin cannot silently replace a built-in schema.
    """

    def __init__(self) -> None:
        self._models: dict[SchemaKey, type[BaseModel]] = {}

    def register(self, artifact_type: str, schema_version: int, model: type[BaseModel]) -> None:
        """Register ``model`` for the pair; raises SchemaRegistrationError if it exists."""
        key = (artifact_type, schema_version)
        if not artifact_type or schema_version < 1:
            raise SchemaRegistrationError(f"invalid schema key {key!r}")
        if key in self._models:
            raise SchemaRegistrationError(
                f"schema {artifact_type} v{schema_version} is already registered"
            )
        self._models[key] = model

    def get_schema(self, artifact_type: str, schema_version: int) -> type[BaseModel]:
        """Return the model for the pair, or raise SchemaNotFoundError."""
        try:
            return self._models[(artifact_type, schema_version)]
        except KeyError:
            raise SchemaNotFoundError(
                f"no schema registered for {artifact_type} v{schema_version}",
                details={"artifact_type": artifact_type, "schema_version": schema_version},
            ) from None

    def validate(
        self, artifact_type: str, schema_version: int, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Validate ``payload`` and return it normalised to plain JSON-compatible data.

        Raises:
            SchemaNotFoundError: the pair is not registered.
            SchemaValidationError: ``details["errors"]`` lists every failing field.
        """
        return self.parse(artifact_type, schema_version, payload).model_dump(mode="json")

    def parse(
        self, artifact_type: str, schema_version: int, payload: Mapping[str, Any]
    ) -> BaseModel:
        """Validate ``payload`` and return the model instance."""
        model = self.get_schema(artifact_type, schema_version)
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            errors = field_errors(exc)
            first = errors[0]
            raise SchemaValidationError(
                f"invalid {artifact_type} v{schema_version} payload: "
                f"{first['field']}: {first['message']}",
                details={"errors": errors},
            ) from exc

    def keys(self) -> list[SchemaKey]:
        """Every registered pair, sorted."""
        return sorted(self._models)

    def versions(self, artifact_type: str) -> list[int]:
        """The registered versions of one type, ascending."""
        return sorted(version for kind, version in self._models if kind == artifact_type)

    def __contains__(self, key: object) -> bool:
        return key in self._models


Registrar = Callable[[SchemaRegistry], None]


def load_registry(extra: Iterable[Registrar] = ()) -> SchemaRegistry:
    """Build the registry: every ``eioku.schemas`` entry point, then ``extra`` registrars.

    The built-in schemas are themselves an entry point of this package, so plugins and
    built-ins take exactly the same path; when the package metadata is missing (running
    from a source tree) the built-ins are registered directly.
    """
    from eioku.domain.schemas.builtin import register_builtin

    registry = SchemaRegistry()
    registrars: list[Registrar] = []
    found_builtin = False
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        registrar = entry.load()
        found_builtin = found_builtin or registrar is register_builtin
        registrars.append(registrar)
    if not found_builtin:
        registrars.insert(0, register_builtin)
    for registrar in [*registrars, *extra]:
        try:
            registrar(registry)
        except SchemaRegistrationError:
            raise
        except Exception as exc:
            raise SchemaRegistrationError(f"schema plugin {registrar!r} failed: {exc}") from exc
    logger.debug("schema registry loaded: %s", registry.keys())
    return registry
