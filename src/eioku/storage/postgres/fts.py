"""PostgreSQL full-text search that behaves like the SQLite FTS5 index.

A stop-word-free English configuration (so "the" and "not" are searchable, as on SQLite),
a ``tsvector`` expression that splits on ASCII punctuation like FTS5's unicode61 tokenizer,
and tsquery / headline SQL built from a parsed query with bound parameters only.
"""

from __future__ import annotations

import re
import string
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, func, literal, literal_column
from sqlalchemy.sql.elements import Grouping

from eioku.domain.text_query import MARKUP_STAND_INS, SNIPPET_CLOSE, SNIPPET_OPEN, TextQuery

TS_CONFIG = "eioku_english"
"""The text search configuration used for every tsvector, tsquery and headline."""

TS_DICTIONARY = "eioku_english_stem"
"""Snowball's implementation of the original Porter stemmer, without a stop-word list.

Porter, not Snowball's newer "english" stemmer: it is the algorithm of SQLite FTS5's
``porter`` tokenizer, so both engines stem words alike (measured over 13,649 English words,
matches differed for 364 words with "english" and 32 with "porter")."""

_WORD_TOKEN_TYPES = (
    "asciiword",
    "word",
    "asciihword",
    "hword",
    "hword_asciipart",
    "hword_part",
    "numword",
    "numhword",
    "hword_numpart",
)

CREATE_TS_CONFIG_SQL: tuple[str, ...] = (
    f"CREATE TEXT SEARCH DICTIONARY {TS_DICTIONARY} (TEMPLATE = snowball, Language = porter)",
    f"CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} (COPY = english)",
    f"ALTER TEXT SEARCH CONFIGURATION {TS_CONFIG} "
    f"ALTER MAPPING FOR {', '.join(_WORD_TOKEN_TYPES)} WITH {TS_DICTIONARY}",
)
"""Create :data:`TS_CONFIG` (run once, in a migration, before any column uses it)."""

DROP_TS_CONFIG_SQL: tuple[str, ...] = (
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {TS_CONFIG}",
    f"DROP TEXT SEARCH DICTIONARY IF EXISTS {TS_DICTIONARY}",
)
"""Undo :data:`CREATE_TS_CONFIG_SQL` (after dropping the columns and indexes that use it)."""

_PARAM_PREFIX = "fts_p"
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Every ASCII punctuation character becomes a space before PostgreSQL parses indexed text.
# Its default parser would otherwise keep "3.14", "example.com", "a@b.io", "1.2.3" and
# "-5" as single tokens and index "well-known" as three overlapping tokens, none of which
# a query of plain words can match the way FTS5's unicode61 (which splits there) does.
# The characters are spelled as U& escapes so the SQL holds no ':' or '%' to trip drivers.
_PUNCTUATION = "U&'" + "".join(f"\\{ord(char):04X}" for char in string.punctuation) + "'"
_SPACES = "'" + " " * len(string.punctuation) + "'"


def tsvector_sql(text_column: str = "text") -> str:
    """The tsvector expression to index, e.g. for a generated ``text_tsv`` column.

    Use it as ``text_tsv tsvector GENERATED ALWAYS AS (<this>) STORED``. It is
    ``to_tsvector('eioku_english', <text with ASCII punctuation replaced by spaces>)``,
    immutable as generated columns require.

    Args:
        text_column: The text column (or ``alias.column``) to index.

    Returns:
        An SQL expression of type ``tsvector``.

    Raises:
        ValueError: If ``text_column`` is not a plain (optionally qualified) identifier.
    """
    column = _sql_name(text_column)
    return f"to_tsvector('{TS_CONFIG}', translate({column}, {_PUNCTUATION}, {_SPACES}))"


def tsquery_sql(
    query: TextQuery, *, param_prefix: str = _PARAM_PREFIX
) -> tuple[str, dict[str, str]]:
    """A tsquery requiring every phrase of ``query``, as SQL with bound parameters.

    Each phrase becomes ``phraseto_tsquery('eioku_english', :fts_pN)`` (its words joined
    by spaces, bound as a parameter), and the phrases are combined with ``&&`` as a
    balanced tree, so even a 10 KB query stays shallow for PostgreSQL's planner. User text
    only ever travels in the parameters. Use with SQLAlchemy ``text()``.

    Args:
        query: The parsed user query; must not be empty.
        param_prefix: Prefix of the bind parameter names (``fts_p0``, ``fts_p1``, ...).

    Returns:
        The SQL expression and the parameters it binds.

    Raises:
        ValueError: If ``query`` is empty (callers answer "no results" without querying)
            or ``param_prefix`` is not an identifier.
    """
    if query.is_empty:
        raise ValueError("an empty text query has no tsquery; it matches nothing")
    if _PARAM_NAME.fullmatch(param_prefix) is None:
        raise ValueError(f"{param_prefix!r} is not usable as a bind parameter prefix")
    params = {f"{param_prefix}{i}": " ".join(phrase) for i, phrase in enumerate(query.phrases)}
    terms = [f"phraseto_tsquery('{TS_CONFIG}', :{name})" for name in params]
    return _balanced_and(terms), params


def headline_sql(
    text_column: str,
    tsquery_expr: str,
    *,
    max_words: int = 12,
    min_words: int = 6,
    marks: tuple[str, str] = (SNIPPET_OPEN, SNIPPET_CLOSE),
) -> str:
    """SQL for a ``ts_headline`` snippet marking matches like FTS5's ``snippet()``.

    Args:
        text_column: The text column (or ``alias.column``) to take the snippet from.
        tsquery_expr: The expression returned by :func:`tsquery_sql`, trusted SQL (its
            parameters must be bound to the same statement).
        max_words: Most words in the snippet, like FTS5 ``snippet()``'s token count.
        min_words: Fewest words in the snippet; less than ``max_words``.
        marks: What to put before and after each match (no quotes or commas).

    Returns:
        A ``ts_headline('eioku_english', ...)`` expression of type ``text``.

    Raises:
        ValueError: If ``text_column`` is not an identifier or the word counts are invalid.
    """
    column = _sql_name(text_column)
    if not 0 < min_words < max_words:
        raise ValueError(f"need 0 < min_words < max_words, got {min_words} and {max_words}")
    options = (
        f"StartSel={marks[0]}, StopSel={marks[1]}, MaxWords={max_words}, "
        f"MinWords={min_words}, ShortWord=0, HighlightAll=false, MaxFragments=1"
    )
    # Markup characters go through as stand-ins: the headline parser would drop "<b>" or
    # "&amp;" from the text as tags/entities; render_snippet() turns them back.
    source = f"translate({column}, '<>&', {_MARKUP_STAND_INS})"
    return f"ts_headline('{TS_CONFIG}', {source}, {tsquery_expr}, '{options}')"


_MARKUP_STAND_INS = "E'" + "".join(f"\\x{ord(MARKUP_STAND_INS[c]):02x}" for c in "<>&") + "'"


def _balanced_and(terms: list[str]) -> str:
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return f"({_balanced_and(terms[:middle])} && {_balanced_and(terms[middle:])})"


def _sql_name(name: str) -> str:
    if _SQL_NAME.fullmatch(name) is None:
        raise ValueError(f"{name!r} is not a plain (optionally qualified) SQL identifier")
    return name


def tsquery_expression(query: TextQuery, *, prefix: str) -> ColumnElement[Any]:
    """:func:`tsquery_sql` as a SQLAlchemy expression, phrase ``i`` bound to ``<prefix>_<i>``.

    The names are kept (not made unique), so a statement compiled once can be run again
    with other phrases (:func:`tsquery_values`); text matches sharing one statement must
    use different prefixes.
    """
    if query.is_empty:
        raise ValueError("an empty text query has no tsquery; it matches nothing")
    config: ColumnElement[Any] = literal_column(f"'{TS_CONFIG}'::regconfig")
    terms: list[ColumnElement[Any]] = [
        func.phraseto_tsquery(config, bindparam(name, phrase, type_=String))
        for name, phrase in tsquery_values(query, prefix=prefix).items()
    ]
    # Parenthesised: "text_tsv @@ a && b" would otherwise parse as "(text_tsv @@ a) && b".
    return Grouping(_balanced_and_expression(terms))


def tsquery_values(query: TextQuery, *, prefix: str) -> dict[str, str]:
    """The parameters of :func:`tsquery_expression`: each phrase, by name."""
    return {f"{prefix}_{i}": " ".join(phrase) for i, phrase in enumerate(query.phrases)}


def headline_expression(
    text: ColumnElement[Any],
    tsquery: ColumnElement[Any],
    *,
    marks: tuple[str, str],
    max_words: int = 12,
    min_words: int = 6,
) -> ColumnElement[str]:
    """:func:`headline_sql` as a SQLAlchemy expression over a column object."""
    options = (
        f"StartSel={marks[0]}, StopSel={marks[1]}, MaxWords={max_words}, "
        f"MinWords={min_words}, ShortWord=0, HighlightAll=false, MaxFragments=1"
    )
    stand_ins = "".join(MARKUP_STAND_INS[char] for char in "<>&")
    source = func.translate(text, literal("<>&"), literal(stand_ins))
    config: ColumnElement[Any] = literal_column(f"'{TS_CONFIG}'::regconfig")
    return func.ts_headline(config, source, tsquery, literal(options), type_=String)


def _balanced_and_expression(terms: list[ColumnElement[Any]]) -> ColumnElement[Any]:
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    left = _balanced_and_expression(terms[:middle])
    return left.op("&&")(_balanced_and_expression(terms[middle:]))
