"""Translate SQLAlchemy errors into the domain's error tree at the adapter boundary.

Backends translate the errors of the raw driver paths they use (COPY, executemany) the
same way, with :func:`conflict_or_storage_error`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from eioku.domain.errors import Conflict, EiokuError, StorageError


def first_line(exc: BaseException) -> str:
    """The most useful one-line description of a driver error."""
    original = getattr(exc, "orig", None) or exc
    diag = getattr(original, "diag", None)
    text = getattr(diag, "message_detail", None) or str(original)
    return text.strip().splitlines()[0] if text.strip() else type(original).__name__


def conflict_or_storage_error(action: str, exc: BaseException, *, integrity: bool) -> EiokuError:
    """Wrap a database error: constraint violations are the caller's Conflict."""
    kind = Conflict if integrity else StorageError
    return kind(f"{action}: {first_line(exc)}")


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run a block, turning SQLAlchemy errors into Conflict or StorageError."""
    try:
        yield
    except IntegrityError as exc:
        raise conflict_or_storage_error(action, exc, integrity=True) from exc
    except SQLAlchemyError as exc:
        raise conflict_or_storage_error(action, exc, integrity=False) from exc
