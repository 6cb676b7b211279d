"""One error tree for the whole library; entry points map it to exit codes and HTTP statuses."""

from __future__ import annotations

from typing import Any


class EiokuError(Exception):
    """Root of every error Eioku raises on purpose.

    Attributes:
        code: a stable machine-readable name for the error kind.
        details: structured context (field errors, ids) for clients, or None.
    """

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EiokuError):
    """A referenced video, run, artifact or policy does not exist."""

    code = "not_found"


class Conflict(EiokuError):
    """The request contradicts what is stored (duplicate id, path already registered)."""

    code = "conflict"


class InvalidInput(EiokuError):
    """A value supplied by a client breaks a rule of the data model."""

    code = "invalid_input"


class InvalidQuery(InvalidInput):
    """A query's parameters cannot be answered (unknown kind, bad range, bad policy)."""

    code = "invalid_query"


class SchemaNotFoundError(InvalidInput):
    """No payload schema is registered for an (artifact_type, schema_version) pair."""

    code = "schema_not_found"


class SchemaValidationError(InvalidInput):
    """A payload does not satisfy its registered schema; ``details`` carries field errors."""

    code = "schema_validation_error"


class SchemaRegistrationError(EiokuError):
    """A schema was registered twice or a plugin failed to register (a programming fault)."""

    code = "schema_registration_error"


class RunStateError(Conflict):
    """A run was asked to make a transition its state machine does not allow."""

    code = "run_state_error"


class ProducerUnavailable(EiokuError):
    """A producer's engine or model is not installed on this machine."""

    code = "producer_unavailable"


class StorageError(EiokuError):
    """The database failed for a reason that is not the caller's fault."""

    code = "storage_error"
