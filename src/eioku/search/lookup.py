"""The WHERE terms shared by every navigation query: key, confidence and full-text filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Row

from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidQuery
from eioku.domain.text_query import parse_text_query
from eioku.search.kinds import Filters, KindSpec
from eioku.storage.backend import Backend

PREVIEW_TEXT = 160


@dataclass(frozen=True)
class Lookup:
    """What to select from and the filter terms, for one kind and one set of filters.

    ``snippet`` is the engine's highlighted excerpt when a full-text filter is used.
    """

    spec: KindSpec
    source: FromClause
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    snippet: ColumnElement[str] | None = None


def build_lookup(
    backend: Backend,
    spec: KindSpec,
    filters: Filters,
    *,
    asset_id: str | None,
    snippet: bool = True,
) -> Lookup | None:
    """The lookup for ``filters`` on ``spec``; None when nothing can match (empty text).

    With ``snippet=False`` a full-text filter is a condition on the projection table
    alone (:meth:`Backend.text_filter`), which plans better where no excerpt is shown.

    Raises:
        InvalidQuery: a filter does not apply to the kind.
    """
    filters.check(spec)
    table = spec.table
    conditions: list[ColumnElement[bool]] = []
    if (key := spec.key_column) is not None and filters.key_value is not None:
        conditions.append(key == filters.key_value)
    if filters.min_confidence is not None:
        conditions.append(table.c.confidence >= filters.min_confidence)
    if filters.text_value is None:
        return Lookup(spec, table, conditions)
    query = parse_text_query(filters.text_value)
    if query.is_empty:
        return None
    if not snippet:
        condition = backend.text_filter(table, query, asset_id=asset_id)
        return Lookup(spec, table, [*conditions, condition])
    match = backend.text_match(table, query, asset_id=asset_id)
    return Lookup(spec, match.source, [*conditions, match.condition], match.snippet)


def check_position(from_ms: int | None) -> None:
    """Reject times no video can have."""
    if from_ms is not None and not 0 <= from_ms <= INT64_MAX:
        raise InvalidQuery(f"from_ms must be between 0 and {INT64_MAX}, got {from_ms}")


def preview_columns(spec: KindSpec) -> list[ColumnElement[Any]]:
    """The projection columns a result preview shows for this kind."""
    table = spec.table
    names = [
        n for n in ("label", "cluster_id", "confidence", "text", "scene_index") if n in table.c
    ]
    return [table.c[name] for name in names]


def preview_of(row: Row[Any] | Any, spec: KindSpec, snippet: str | None) -> dict[str, Any]:
    """A small JSON-able preview of one result row."""
    preview: dict[str, Any] = {}
    for column in preview_columns(spec):
        value = row._mapping[column.name]
        if column.name == "text" and isinstance(value, str) and len(value) > PREVIEW_TEXT:
            value = value[: PREVIEW_TEXT - 1] + "…"
        preview[str(column.name)] = value  # a plain str: column names are str subclasses
    if snippet is not None:
        preview["snippet"] = snippet
    return preview
