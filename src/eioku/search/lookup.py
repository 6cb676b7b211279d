"""The WHERE terms shared by every navigation query: key, confidence and full-text filters."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Float, FromClause, String, bindparam

from eioku.domain.envelope import INT64_MAX
from eioku.domain.errors import InvalidQuery
from eioku.domain.text_query import TextQuery, parse_text_query
from eioku.search.kinds import Filters, KindSpec
from eioku.storage.backend import Backend

PREVIEW_TEXT = 160


@dataclass(frozen=True)
class _Terms:
    source: FromClause
    conditions: list[ColumnElement[bool]]
    snippet: ColumnElement[str] | None


@dataclass
class Lookup:
    """One kind and one set of filters: the values that fill a query, and its SQL terms.

    :attr:`shape` says which filters are present (and how many phrases the text has),
    not their values: lookups of one shape differ only in :attr:`values`, so a statement
    compiled for the shape (:mod:`eioku.storage.prepared`) serves them all. The SQL terms
    (:attr:`source`, :attr:`conditions`, :attr:`snippet`) are built only when asked for,
    which a cached statement never does. They use named bind parameters that carry
    their values, so a statement run through SQLAlchemy needs nothing more.
    ``snippet`` is the engine's highlighted excerpt when a full-text filter is used.
    """

    spec: KindSpec
    filters: Filters
    backend: Backend
    asset_id: str | None
    with_snippet: bool
    text: TextQuery | None
    values: dict[str, Any]
    shape: tuple[Hashable, ...]

    @property
    def source(self) -> FromClause:
        """What to select from: the projection table, joined to its text index if needed."""
        return self._terms.source

    @property
    def conditions(self) -> list[ColumnElement[bool]]:
        """The filter terms."""
        return self._terms.conditions

    @property
    def snippet(self) -> ColumnElement[str] | None:
        """The engine's excerpt of a text match (with a text filter and snippets on)."""
        return self._terms.snippet

    @cached_property
    def _terms(self) -> _Terms:
        table = self.spec.table
        filters = self.filters
        conditions: list[ColumnElement[bool]] = []
        if (key := self.spec.key_column) is not None and filters.key_value is not None:
            conditions.append(key == bindparam("key", filters.key_value, type_=String))
        if filters.min_confidence is not None:
            bound = bindparam("min_confidence", filters.min_confidence, type_=Float)
            conditions.append(table.c.confidence >= bound)
        if self.text is None:
            return _Terms(table, conditions, None)
        if not self.with_snippet:
            condition = self.backend.text_filter(table, self.text, asset_id=self.asset_id)
            return _Terms(table, [*conditions, condition], None)
        match = self.backend.text_match(table, self.text, asset_id=self.asset_id)
        return _Terms(match.source, [*conditions, match.condition], match.snippet)


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
    values: dict[str, Any] = {}
    if spec.key is not None and filters.key_value is not None:
        values["key"] = filters.key_value
    if filters.min_confidence is not None:
        values["min_confidence"] = filters.min_confidence
    shape: tuple[Hashable, ...] = (spec.kind, tuple(values), asset_id is None, snippet)
    text = None
    if filters.text_value is not None:
        text = parse_text_query(filters.text_value)
        if text.is_empty:
            return None
        values.update(backend.text_values(spec.table, text, asset_id=asset_id))
        shape = (*shape, len(text.phrases))
    return Lookup(spec, filters, backend, asset_id, snippet, text, values, shape)


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


def preview_of(row: Mapping[Any, Any], spec: KindSpec, snippet: str | None) -> dict[str, Any]:
    """A small JSON-able preview of one result row (its :func:`preview_columns` by name)."""
    preview: dict[str, Any] = {}
    for column in preview_columns(spec):
        value = row[column.name]
        if column.name == "text" and isinstance(value, str) and len(value) > PREVIEW_TEXT:
            value = value[: PREVIEW_TEXT - 1] + "…"
        preview[str(column.name)] = value  # a plain str: column names are str subclasses
    if snippet is not None:
        preview["snippet"] = snippet
    return preview
