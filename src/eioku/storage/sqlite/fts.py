"""FTS5 query text built from a parsed :class:`~eioku.domain.text_query.TextQuery`.

Every phrase is emitted as an FTS5 string, so nothing a user types can act as FTS5 syntax;
the FTS5 tokenizer then stems and folds the phrase exactly as it did the indexed text.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, literal_column

from eioku.domain.text_query import SNIPPET_CLOSE, SNIPPET_ELLIPSIS, SNIPPET_OPEN, TextQuery

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FTS5_KEYWORDS = frozenset({"AND", "OR", "NOT", "NEAR"})
_MAX_SNIPPET_TOKENS = 64  # FTS5's own limit for snippet()'s last argument.


def fts5_match_expression(
    query: TextQuery,
    *,
    text_column: str = "text",
    scope: tuple[str, str] | None = None,
) -> str:
    """Build the right-hand side of ``<fts table> MATCH ?`` for ``query``.

    The result requires every phrase, in ``text_column`` only, e.g.
    ``text : ("a" AND "b c")``; with ``scope=("asset_key", "v61")`` it also requires
    ``asset_key : "v61"``. Bind it as a parameter; never paste it into SQL.

    Args:
        query: The parsed user query; must not be empty.
        text_column: The FTS5 column the phrases must occur in.
        scope: Optional ``(column, token)``; the row must also hold ``token`` in ``column``
            (used to restrict a search to one video, see :func:`asset_key`).

    Returns:
        An FTS5 query expression.

    Raises:
        ValueError: If ``query`` is empty (callers answer "no results" without querying)
            or a column name is not a plain identifier.
    """
    if query.is_empty:
        raise ValueError("an empty text query has no FTS5 expression; it matches nothing")
    phrases = " AND ".join(_fts5_string(" ".join(phrase)) for phrase in query.phrases)
    expression = f"{_column(text_column)} : ({phrases})"
    if scope is not None:
        scope_column, token = scope
        expression += f" AND {_column(scope_column)} : {_fts5_string(token)}"
    return expression


def asset_key(asset_id: str) -> str:
    """The FTS5 token for one video, equal to SQL ``'v' || lower(hex(asset_id))``.

    ``hex()`` of an SQLite TEXT value is the hex of its UTF-8 bytes, so the token is only
    ASCII letters and digits: one unicode61 token whatever the id contains. Tokens longer
    than 64 characters (any id of 32 or more characters) are also left alone by the porter
    stemmer; shorter ones are stemmed alike on both sides, so they still match, but callers
    should keep an exact ``asset_id =`` filter as well.

    Args:
        asset_id: The video's id, as stored in the TEXT column.

    Returns:
        ``"v"`` followed by the lower-case hex of the UTF-8 encoding of ``asset_id``.
    """
    return "v" + asset_id.encode("utf-8").hex()


def snippet_sql(
    fts_table: str,
    column_index: int = 0,
    tokens: int = 12,
    *,
    marks: tuple[str, str] = (SNIPPET_OPEN, SNIPPET_CLOSE),
) -> str:
    """SQL for an FTS5 ``snippet()`` call that marks matches like PostgreSQL's headline.

    Args:
        fts_table: The FTS5 table named in the query's ``MATCH``.
        column_index: The column to take the snippet from (``-1``: FTS5 picks one).
        tokens: Most tokens in the snippet (1 to 64).
        marks: What to put before and after each match.

    Returns:
        e.g. ``snippet(transcript_fts_idx, 0, '<b>', '</b>', '…', 12)``.

    Raises:
        ValueError: If ``fts_table`` is not a plain identifier or a number is out of range.
    """
    if column_index < -1:
        raise ValueError(f"column_index must be -1 or more, not {column_index}")
    if not 1 <= tokens <= _MAX_SNIPPET_TOKENS:
        raise ValueError(f"tokens must be between 1 and {_MAX_SNIPPET_TOKENS}, not {tokens}")
    return (
        f"snippet({_identifier(fts_table)}, {column_index}, {_sql_string(marks[0])}, "
        f"{_sql_string(marks[1])}, {_sql_string(SNIPPET_ELLIPSIS)}, {tokens})"
    )


def _fts5_string(text: str) -> str:
    """Quote ``text`` as an FTS5 string: a phrase, never an operator."""
    return '"' + text.replace('"', '""') + '"'


def _column(name: str) -> str:
    if name.upper() in _FTS5_KEYWORDS:
        raise ValueError(f"{name!r} is an FTS5 keyword, not usable as a column filter")
    return _identifier(name)


def _identifier(name: str) -> str:
    if _IDENTIFIER.fullmatch(name) is None:
        raise ValueError(f"{name!r} is not a plain SQL identifier")
    return name


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def match_condition(fts_table: str, expression: str, *, name: str) -> ColumnElement[bool]:
    """``<fts_table> MATCH :name`` as a SQLAlchemy condition, ``expression`` bound to it.

    The parameter keeps its ``name`` (not made unique), so a statement compiled once can
    be run again with another expression under that name.
    """
    column: ColumnElement[Any] = literal_column(_identifier(fts_table))
    return column.op("MATCH", is_comparison=True)(bindparam(name, expression, type_=String))
