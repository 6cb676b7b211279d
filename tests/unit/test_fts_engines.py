"""Full-text search on the real engines: SQLite FTS5 in memory and a scratch PostgreSQL database.

Both engines index the same corpus and get the same parsed queries; they must find the same
rows, mark snippets the same way, and accept any user string without an error.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from eioku.domain.text_query import SNIPPET_CLOSE, SNIPPET_OPEN, TextQuery, parse_text_query
from eioku.storage.postgres.fts import (
    CREATE_TS_CONFIG_SQL,
    DROP_TS_CONFIG_SQL,
    TS_CONFIG,
    headline_sql,
    tsquery_sql,
    tsvector_sql,
)
from eioku.storage.sqlite.fts import asset_key, fts5_match_expression, snippet_sql

POSTGRES_URL = os.environ.get(
    "EIOKU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"
FTS_TABLE = "transcript_fts_idx"
ASSET_ONE = "0192f3a4b5c6d7e8f90a1b2c3d4e5f60"
ASSET_TWO = "asset-two/ünïcode"

# Shared corpus: no pair of words in it (or in the queries below) stems together under
# Porter (SQLite) but apart under Snowball (PostgreSQL) or the other way round; see
# test_porter_and_snowball_stem_some_words_differently for the words that do.
CORPUS: dict[int, tuple[str, str]] = {
    1: (ASSET_ONE, "The quick brown fox jumps over the lazy dog."),
    2: (ASSET_ONE, "A lazy dog sleeps in the sun; the fox runs away."),
    3: (ASSET_TWO, "She runs every morning, and running makes her happy."),
    4: (ASSET_TWO, "He ran to the store. Not the bakery!"),
    5: (ASSET_ONE, "Dogs and cats: the eternal rivalry."),
    6: (ASSET_TWO, "Pi is about 3.14, and e is about 2.718."),
    7: (ASSET_ONE, "Visit example.com or e-mail bob@example.com for details."),
    8: (ASSET_TWO, "A well-known actor recorded the intro in 2024."),
    9: (ASSET_ONE, "Don't stop believing; it's C++ vs. C#."),
    10: (ASSET_TWO, "हिन्दी भाषा और देवनागरी लिपि"),
    11: (ASSET_ONE, "Привет, мир! Это тест."),
    12: (ASSET_TWO, "東京タワーの夜景"),
    13: (ASSET_ONE, "Emoji 🐱 cats and 🐶 dogs"),
    14: (ASSET_TWO, "RECORDING the Meeting NOTES"),
    15: (ASSET_ONE, "The fox, the dog, and the cat."),
    16: (ASSET_TWO, "NEAR the AND gate, OR NOT: (x*) ^y -z +w {col}"),
    17: (ASSET_ONE, "snake_case and camelCase identifiers"),
    18: (ASSET_TWO, 'She said "hello" twice'),
}

# (user string, ids both engines must return); None means "whatever, but the same".
TRICKY_QUERIES: list[tuple[str, set[int] | None]] = [
    ("running", {2, 3}),
    ("RUNS", {2, 3}),
    ("ran", {4}),
    ("jumping", {1}),
    ("recorded", {8, 14}),
    ("meetings", {14}),
    ("the", None),
    ("not", {4, 16}),
    ("fox dog", {1, 2, 15}),
    ("fox cat", {15}),
    ('"the fox"', {2, 15}),
    ('"fox the"', {15}),
    ('"lazy dog"', {1, 2}),
    ('"dog lazy"', set()),
    ('"lazy dog', {1, 2}),
    ('fox "quick brown', {1}),
    ("3.14", {6}),
    ("14", {6}),
    ("example.com", {7}),
    ("bob@example.com", {7}),
    ("e-mail", {7}),
    ("email", set()),
    ("well-known", {8}),
    ('"a well"', {8}),
    ("2024", {8}),
    ("don't", {9}),
    ("C++", {9}),
    ("हिन्दी लिपि", {10}),
    ("ПРИВЕТ мир", {11}),
    ("東京タワーの夜景", {12}),
    ("東京", set()),
    ("cats 🐱", {5, 13, 15}),
    ("🐱", set()),
    ("NEAR", {16}),
    ("AND", None),
    ("OR NOT", {16}),
    ("NEAR(fox dog)", set()),
    ("fox*", {1, 2, 15}),
    ("^fox", {1, 2, 15}),
    ("-dog +fox", {1, 2, 15}),
    ("text:fox", set()),
    ("col:fox", set()),
    ("{col} x y z w", {16}),
    ("asset_key", set()),
    (asset_key(ASSET_ONE), set()),
    ("snake_case", {17}),
    ('"hello', {18}),
    ('said "hello" twice', {18}),
    ('"', set()),
    ("", set()),
    ("   ", set()),
    ("\x00fox\x00", {1, 2, 15}),
    ('the"fox', {1, 2, 15}),
    ("a AND OR NOT b", set()),
]

OPERATORS = ["AND", "OR", "NOT", "NEAR", "NEAR(", "*", "^", ":", "-", "+", "(", ")", "{", "}"]
NOISE = ['"', " ", ",", ".", "\x00", "🐱", "'", "_", "\t", "\\", "''", '""', *OPERATORS]
CORPUS_WORDS = sorted({word for _, text in CORPUS.values() for word in re.findall(r"\S+", text)})


def user_strings() -> st.SearchStrategy[str]:
    """Anything at all, and noisy mixes of corpus words, operators and punctuation."""
    pieces = st.one_of(st.sampled_from(CORPUS_WORDS), st.sampled_from(NOISE), st.text(max_size=4))
    mixed = st.lists(st.tuples(pieces, st.sampled_from(["", " ", " ", '"'])), max_size=10).map(
        lambda parts: "".join(piece + sep for piece, sep in parts)
    )
    return st.one_of(st.text(), mixed)


def shared_vocabulary_strings() -> st.SearchStrategy[str]:
    """Corpus words, operators and punctuation only: both engines must agree on these."""
    pieces = st.one_of(st.sampled_from(CORPUS_WORDS), st.sampled_from(NOISE))
    return st.lists(st.tuples(pieces, st.sampled_from(["", " ", " ", '"'])), max_size=8).map(
        lambda parts: "".join(piece + sep for piece, sep in parts)
    )


# --- SQLite ------------------------------------------------------------------------------


def create_sqlite_fts(conn: sqlite3.Connection, table: str) -> None:
    """A text table with its external-content FTS5 index, as the SQLite migration makes."""
    idx = f"{table}_idx"
    conn.executescript(
        f"""
        CREATE TABLE {table} (
            id INTEGER PRIMARY KEY,
            asset_id TEXT NOT NULL,
            text TEXT NOT NULL,
            asset_key TEXT GENERATED ALWAYS AS ('v' || lower(hex(asset_id))) VIRTUAL
        );
        CREATE VIRTUAL TABLE {idx} USING fts5(
            text, asset_key, content='{table}', content_rowid='id',
            tokenize='{SQLITE_TOKENIZER}'
        );
        CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN
            INSERT INTO {idx}(rowid, text, asset_key) VALUES (new.id, new.text, new.asset_key);
        END;
        """
    )


@pytest.fixture(scope="module")
def lite() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    try:
        create_sqlite_fts(conn, "transcript_fts")
        conn.executemany(
            "INSERT INTO transcript_fts (id, asset_id, text) VALUES (?, ?, ?)",
            [(row_id, asset, text) for row_id, (asset, text) in CORPUS.items()],
        )
        conn.executescript(
            f"""
            CREATE VIRTUAL TABLE vocab USING fts5vocab({FTS_TABLE}, 'instance');
            CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='{SQLITE_TOKENIZER}');
            CREATE VIRTUAL TABLE probe_vocab USING fts5vocab(probe, 'instance');
            """
        )
        yield conn
    finally:
        conn.close()


def sqlite_search(conn: sqlite3.Connection, raw: str, *, asset_id: str | None = None) -> set[int]:
    query = parse_text_query(raw)
    if query.is_empty:
        return set()
    scope = None if asset_id is None else ("asset_key", asset_key(asset_id))
    expression = fts5_match_expression(query, scope=scope)
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
    return {row_id for (row_id,) in conn.execute(sql, (expression,))}


def sqlite_snippets(conn: sqlite3.Connection, raw: str) -> dict[int, str]:
    expression = fts5_match_expression(parse_text_query(raw))
    sql = f"SELECT rowid, {snippet_sql(FTS_TABLE)} FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
    return dict(conn.execute(sql, (expression,)).fetchall())


def sqlite_tokens(conn: sqlite3.Connection, text: str) -> list[str]:
    """``text`` as FTS5's own tokenizer (with the porter stemmer) splits it, in order."""
    conn.execute("INSERT INTO probe (rowid, text) VALUES (1, ?)", (text,))
    rows = conn.execute("SELECT term FROM probe_vocab ORDER BY offset").fetchall()
    conn.execute("DELETE FROM probe")
    return [term for (term,) in rows]


def sqlite_expected(conn: sqlite3.Connection, query: TextQuery) -> set[int]:
    """Rows holding every phrase's stemmed tokens consecutively (FTS5's own tokens)."""
    if query.is_empty:
        return set()
    phrases = [sqlite_tokens(conn, " ".join(phrase)) for phrase in query.phrases]
    if not all(phrases):
        return set()  # FTS5 reads a phrase without tokens as "matches nothing".
    positions: dict[int, dict[str, set[int]]] = {}
    for term, doc, offset in conn.execute("SELECT term, doc, offset FROM vocab WHERE col = 'text'"):
        positions.setdefault(doc, {}).setdefault(term, set()).add(offset)
    return {
        doc
        for doc, terms in positions.items()
        if all(contains_sequence(terms, list(enumerate(tokens))) for tokens in phrases)
    }


# --- PostgreSQL --------------------------------------------------------------------------


def create_pg_table(conn: sa.Connection, table: str, tsvector: str) -> None:
    conn.execute(
        sa.text(
            f"CREATE TABLE {table} (id integer PRIMARY KEY, asset_id text NOT NULL, "
            f"text text NOT NULL, text_tsv tsvector GENERATED ALWAYS AS ({tsvector}) STORED)"
        )
    )
    conn.execute(sa.text(f"CREATE INDEX ix_{table}_text_tsv ON {table} USING gin (text_tsv)"))
    conn.execute(
        sa.text(f"INSERT INTO {table} (id, asset_id, text) VALUES (:id, :asset_id, :text)"),
        [{"id": i, "asset_id": asset, "text": text} for i, (asset, text) in CORPUS.items()],
    )


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[sa.Engine]:
    """A scratch database, dropped at the end; never skipped when PostgreSQL is missing."""
    admin_url = sa.make_url(POSTGRES_URL)
    name = f"eioku_fts_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine = sa.create_engine(admin_url.set(database=name), isolation_level="AUTOCOMMIT")
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def pg(pg_engine: sa.Engine) -> Iterator[sa.Connection]:
    with pg_engine.connect() as conn:
        for statement in CREATE_TS_CONFIG_SQL:
            conn.execute(sa.text(statement))
        create_pg_table(conn, "transcript_fts", tsvector_sql("text"))
        yield conn


def pg_search(
    conn: sa.Connection,
    raw: str,
    *,
    asset_id: str | None = None,
    table: str = "transcript_fts",
) -> set[int]:
    query = parse_text_query(raw)
    if query.is_empty:
        return set()
    expression, params = tsquery_sql(query)
    sql = f"SELECT id FROM {table} WHERE text_tsv @@ {expression}"
    if asset_id is not None:
        sql += " AND asset_id = :asset_id"
    return set(conn.execute(sa.text(sql), {**params, "asset_id": asset_id}).scalars())


def pg_snippets(conn: sa.Connection, raw: str) -> dict[int, str]:
    expression, params = tsquery_sql(parse_text_query(raw))
    sql = (
        f"SELECT t.id, {headline_sql('t.text', expression)} FROM transcript_fts AS t "
        f"WHERE t.text_tsv @@ {expression}"
    )
    return {row_id: snippet for row_id, snippet in conn.execute(sa.text(sql), params)}


def pg_expected(conn: sa.Connection, query: TextQuery) -> set[int]:
    """Rows holding every phrase's lexemes at consecutive positions (PostgreSQL's lexemes).

    A phrase PostgreSQL finds no lexeme in is left out of the tsquery, as ``&&`` with an
    empty tsquery does; a query left with no lexemes at all matches nothing.
    """
    if query.is_empty:
        return set()
    phrases: list[list[tuple[int, str]]] = []
    for phrase in query.phrases:
        rows = conn.execute(
            sa.text(
                f"SELECT p, lexeme FROM unnest(to_tsvector('{TS_CONFIG}', :phrase)), "
                "unnest(positions) AS p ORDER BY p"
            ),
            {"phrase": " ".join(phrase)},
        ).all()
        if rows:
            phrases.append([(int(p), str(lexeme)) for p, lexeme in rows])
    if not phrases:
        return set()
    positions: dict[int, dict[str, set[int]]] = {}
    for row_id, lexeme, pos in conn.execute(
        sa.text(
            "SELECT t.id, v.lexeme, p FROM transcript_fts AS t, unnest(t.text_tsv) AS v, "
            "unnest(v.positions) AS p"
        )
    ):
        positions.setdefault(row_id, {}).setdefault(lexeme, set()).add(pos)
    return {
        row_id
        for row_id, lexemes in positions.items()
        if all(contains_sequence(lexemes, sequence) for sequence in phrases)
    }


def contains_sequence(positions: dict[str, set[int]], sequence: list[tuple[int, str]]) -> bool:
    """Whether the terms of ``sequence`` (offset, term) occur at those relative offsets."""
    first_offset, first_term = sequence[0]
    return any(
        all(start - first_offset + offset in positions.get(term, ()) for offset, term in sequence)
        for start in positions.get(first_term, ())
    )


# --- Behaviour on both engines -----------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), TRICKY_QUERIES)
def test_engines_return_the_same_rows(
    lite: sqlite3.Connection, pg: sa.Connection, raw: str, expected: set[int] | None
) -> None:
    on_sqlite = sqlite_search(lite, raw)
    on_postgres = pg_search(pg, raw)
    assert on_sqlite == on_postgres
    if expected is not None:
        assert on_sqlite == expected


def test_stemming_finds_other_forms_of_a_word(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    assert sqlite_search(lite, "running") == pg_search(pg, "running") == {2, 3}
    assert sqlite_search(lite, "runs") == pg_search(pg, "runs") == {2, 3}
    assert sqlite_search(lite, "dog") == pg_search(pg, "dog") == {1, 2, 5, 13, 15}


def test_search_is_case_insensitive(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    for raw in ["recording notes", "RECORDING NOTES", "Recording Notes"]:
        assert sqlite_search(lite, raw) == pg_search(pg, raw) == {14}


def test_every_word_must_match(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    assert sqlite_search(lite, "lazy") == pg_search(pg, "lazy") == {1, 2}
    assert sqlite_search(lite, "lazy sun") == pg_search(pg, "lazy sun") == {2}
    assert sqlite_search(lite, "lazy sun nowhere") == pg_search(pg, "lazy sun nowhere") == set()


def test_phrase_word_order_matters(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    assert sqlite_search(lite, '"brown fox"') == pg_search(pg, '"brown fox"') == {1}
    assert sqlite_search(lite, '"fox brown"') == pg_search(pg, '"fox brown"') == set()
    assert sqlite_search(lite, "fox brown") == pg_search(pg, "fox brown") == {1}


def test_stop_words_are_searchable(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    for raw, expected in [("not", {4, 16}), ('"in the"', {2}), ('"to the"', {4}), ("a", None)]:
        on_sqlite = sqlite_search(lite, raw)
        assert on_sqlite == pg_search(pg, raw)
        assert on_sqlite
        if expected is not None:
            assert on_sqlite == expected


def test_snippets_mark_matches_on_both_engines(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    on_sqlite = sqlite_snippets(lite, "running")
    on_postgres = pg_snippets(pg, "running")
    assert set(on_sqlite) == set(on_postgres) == {2, 3}
    for snippets in (on_sqlite, on_postgres):
        assert f"{SNIPPET_OPEN}runs{SNIPPET_CLOSE}" in snippets[2]
        assert f"{SNIPPET_OPEN}runs{SNIPPET_CLOSE}" in snippets[3]
        assert f"{SNIPPET_OPEN}running{SNIPPET_CLOSE}" in snippets[3]
        assert "makes her" in snippets[3]


def test_snippets_mark_phrases_on_both_engines(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    # FTS5 wraps a matched phrase in one pair of markers, ts_headline wraps each word.
    assert "<b>lazy dog</b>" in sqlite_snippets(lite, '"lazy dog"')[1]
    assert "<b>lazy</b> <b>dog</b>" in pg_snippets(pg, '"lazy dog"')[1]
    for snippets in (sqlite_snippets(lite, "cats"), pg_snippets(pg, "cats")):
        assert "<b>cats</b>" in snippets[13]
        assert "🐱" in snippets[13]


def test_search_can_be_restricted_to_one_video(lite: sqlite3.Connection, pg: sa.Connection) -> None:
    for asset, expected in [(ASSET_ONE, {1, 2, 15}), (ASSET_TWO, set()), ("unknown", set())]:
        assert sqlite_search(lite, "fox", asset_id=asset) == expected
        assert pg_search(pg, "fox", asset_id=asset) == expected
    assert sqlite_search(lite, "running", asset_id=ASSET_TWO) == {3}


def test_asset_key_matches_the_sql_expression(lite: sqlite3.Connection) -> None:
    for asset_id in [ASSET_ONE, ASSET_TWO, "a", "", "日本", "quote\"d'id", "NEAR AND"]:
        (from_sql,) = lite.execute("SELECT 'v' || lower(hex(?))", (asset_id,)).fetchone()
        assert asset_key(asset_id) == from_sql
    (one,) = lite.execute("SELECT asset_key FROM transcript_fts WHERE id = 1").fetchone()
    assert one == asset_key(ASSET_ONE)


def test_user_text_only_travels_as_bound_parameters(pg: sa.Connection) -> None:
    raw = 'robert\'); DROP TABLE transcript_fts; -- $1 %s :fts_p0 \\ "x" NEAR'
    expression, params = tsquery_sql(parse_text_query(raw))
    calls = re.sub(rf"phraseto_tsquery\('{TS_CONFIG}', :fts_p\d+\)", "", expression)
    assert set(calls) <= set("()& ")
    assert " ".join(params.values()) == "robert drop table transcript fts 1 s p0 x near"
    assert pg_search(pg, raw) == set()
    assert pg.execute(sa.text("SELECT count(*) FROM transcript_fts")).scalar() == len(CORPUS)


def test_empty_queries_are_refused_before_the_engines() -> None:
    empty = parse_text_query("!!! 🐱")
    with pytest.raises(ValueError, match="empty"):
        fts5_match_expression(empty)
    with pytest.raises(ValueError, match="empty"):
        tsquery_sql(empty)


def test_query_with_no_lexemes_for_postgres_is_not_an_error(pg: sa.Connection) -> None:
    # "½" is a word to Python and FTS5 but not to PostgreSQL's parser: the tsquery is empty
    # and PostgreSQL only sends a NOTICE, which must not become a Python warning.
    assert pg_search(pg, "½") == set()
    assert pg_search(pg, "½ fox") == {1, 2, 15}


def test_fts5_expression_quotes_every_phrase(lite: sqlite3.Connection) -> None:
    query = TextQuery(phrases=(("a",), ("b", "c"), ('say"hi',)))
    assert fts5_match_expression(query) == 'text : ("a" AND "b c" AND "say""hi")'
    scoped = fts5_match_expression(query, text_column="body", scope=("asset_key", "v61"))
    assert scoped == 'body : ("a" AND "b c" AND "say""hi") AND asset_key : "v61"'
    expression = fts5_match_expression(query, scope=("asset_key", 'v"1'))
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
    assert lite.execute(sql, (expression,)).fetchall() == []


def test_sql_helpers_build_the_documented_sql() -> None:
    assert snippet_sql(FTS_TABLE) == "snippet(transcript_fts_idx, 0, '<b>', '</b>', '…', 12)"
    expression, params = tsquery_sql(parse_text_query('a "b c" d'))
    assert expression == (
        "(phraseto_tsquery('eioku_english', :fts_p0) && "
        "(phraseto_tsquery('eioku_english', :fts_p1) && "
        "phraseto_tsquery('eioku_english', :fts_p2)))"
    )
    assert params == {"fts_p0": "a", "fts_p1": "b c", "fts_p2": "d"}
    assert headline_sql("t.text", "q") == (
        "ts_headline('eioku_english', translate(t.text, '<>&', E'\\x04\\x05\\x06'), q, "
        "'StartSel=<b>, StopSel=</b>, MaxWords=12, "
        "MinWords=6, ShortWord=0, HighlightAll=false, MaxFragments=1')"
    )


def test_sql_helpers_refuse_unsafe_names() -> None:
    query = parse_text_query("fox")
    for bad in ["text; DROP", "a b", "", "AND", "near", "1x", "t.text"]:
        with pytest.raises(ValueError, match=r"identifier|keyword"):
            fts5_match_expression(query, text_column=bad)
        with pytest.raises(ValueError, match=r"identifier|keyword"):
            fts5_match_expression(query, scope=(bad, "v1"))
    for bad in ["x; DROP", "x.", ".x", "x y", ""]:
        with pytest.raises(ValueError, match="identifier"):
            snippet_sql(bad)
        with pytest.raises(ValueError, match="identifier"):
            headline_sql(bad, "q")
        with pytest.raises(ValueError, match="identifier"):
            tsvector_sql(bad)
    with pytest.raises(ValueError, match="prefix"):
        tsquery_sql(query, param_prefix="p; --")
    for tokens in (0, 65):
        with pytest.raises(ValueError, match="tokens"):
            snippet_sql(FTS_TABLE, tokens=tokens)
    with pytest.raises(ValueError, match="column_index"):
        snippet_sql(FTS_TABLE, column_index=-2)
    with pytest.raises(ValueError, match="min_words"):
        headline_sql("text", "q", max_words=5, min_words=5)


# --- Any user string ---------------------------------------------------------------------


@settings(deadline=None)
@given(user_strings())
def test_any_user_string_runs_and_every_row_holds_every_phrase(
    lite: sqlite3.Connection, pg: sa.Connection, raw: str
) -> None:
    query = parse_text_query(raw)
    assert sqlite_search(lite, raw) == sqlite_expected(lite, query)
    assert pg_search(pg, raw) == pg_expected(pg, query)


@settings(deadline=None)
@given(shared_vocabulary_strings())
def test_engines_agree_on_any_mix_of_corpus_words_and_syntax(
    lite: sqlite3.Connection, pg: sa.Connection, raw: str
) -> None:
    assert sqlite_search(lite, raw) == pg_search(pg, raw)


def ten_kilobytes(kind: str) -> str:
    rng = random.Random(kind)
    if kind == "words":
        words = ["".join(rng.choices("abcdefghij", k=rng.randint(1, 8))) for _ in range(3000)]
        return " ".join(words)[:10_240]
    if kind == "phrase":
        return '"' + ten_kilobytes("words")[1:]
    if kind == "syntax":
        return "".join(rng.choices([*OPERATORS, '"', " ", "fox ", "dog "], k=10_240))[:10_240]
    if kind == "unicode":
        return (
            "".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(10_240))
            .encode("utf-8", "replace")
            .decode("utf-8", "replace")
        )
    if kind == "nul":
        return "fox\x00" * 2560
    if kind == "emoji":
        return "🐱 dog " * 1462
    if kind == "one_word":
        return "x" * 10_240
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["words", "phrase", "syntax", "unicode", "nul", "emoji", "one_word"]
)
def test_ten_kilobyte_query_runs_on_both_engines(
    lite: sqlite3.Connection, pg: sa.Connection, kind: str
) -> None:
    raw = ten_kilobytes(kind)
    assert len(raw.encode("utf-8")) >= 10_240
    query = parse_text_query(raw)
    assert sqlite_search(lite, raw) == sqlite_expected(lite, query)
    assert pg_search(pg, raw) == pg_expected(pg, query)


@pytest.mark.parametrize("kind", ["words", "phrase"])
def test_ten_kilobyte_query_finds_the_text_it_was_copied_from(pg: sa.Connection, kind: str) -> None:
    raw = ten_kilobytes(kind)
    conn = sqlite3.connect(":memory:")
    try:
        create_sqlite_fts(conn, "long")
        conn.execute("INSERT INTO long (id, asset_id, text) VALUES (1, 'a', ?)", (raw,))
        expression = fts5_match_expression(parse_text_query(raw))
        sql = f"SELECT rowid, {snippet_sql('long_idx')} FROM long_idx WHERE long_idx MATCH ?"
        rows = conn.execute(sql, (expression,)).fetchall()
    finally:
        conn.close()
    assert [row_id for row_id, _ in rows] == [1]
    assert SNIPPET_OPEN in rows[0][1]

    table = f"long_{kind}"
    pg.execute(
        sa.text(
            f"CREATE TABLE {table} (id integer PRIMARY KEY, text text NOT NULL, "
            f"text_tsv tsvector GENERATED ALWAYS AS ({tsvector_sql('text')}) STORED)"
        )
    )
    pg.execute(sa.text(f"INSERT INTO {table} (id, text) VALUES (1, :text)"), {"text": raw})
    expression, params = tsquery_sql(parse_text_query(raw))
    headline = headline_sql("text", expression)
    sql = f"SELECT id, {headline} FROM {table} WHERE text_tsv @@ {expression}"
    pg_rows = pg.execute(sa.text(sql), params).all()
    pg.execute(sa.text(f"DROP TABLE {table}"))
    assert [row_id for row_id, _ in pg_rows] == [1]
    assert SNIPPET_OPEN in pg_rows[0][1]


# --- The configuration, and documented differences ---------------------------------------


def test_config_stems_english_without_stop_words(pg: sa.Connection) -> None:
    lexemes = pg.execute(
        sa.text(f"SELECT tsvector_to_array(to_tsvector('{TS_CONFIG}', :text))"),
        {"text": "The dogs are NOT running and it was over"},
    ).scalar_one()
    # Porter, as FTS5 stems them: "are" -> "ar", "was" -> "wa".
    assert sorted(lexemes) == ["and", "ar", "dog", "it", "not", "over", "run", "the", "wa"]


def test_config_can_be_dropped_and_created_again(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as conn:
        conn.execute(sa.text("CREATE SCHEMA recreate"))
        conn.execute(sa.text("SET search_path TO recreate"))
        try:
            for _ in range(2):
                for statement in CREATE_TS_CONFIG_SQL:
                    conn.execute(sa.text(statement))
                assert (
                    conn.execute(
                        sa.text("SELECT to_tsvector('recreate.eioku_english', 'the runs')::text")
                    ).scalar_one()
                    == "'run':2 'the':1"
                )
                for statement in DROP_TS_CONFIG_SQL:
                    conn.execute(sa.text(statement))
            for statement in DROP_TS_CONFIG_SQL:
                conn.execute(sa.text(statement))  # IF EXISTS: harmless when already gone
        finally:
            conn.execute(sa.text("DROP SCHEMA recreate CASCADE"))
            conn.execute(sa.text("RESET search_path"))


def test_plain_to_tsvector_would_disagree_with_fts5_on_punctuation(
    lite: sqlite3.Connection, pg: sa.Connection
) -> None:
    """Why :func:`tsvector_sql` replaces ASCII punctuation before ``to_tsvector``.

    PostgreSQL's parser keeps "3.14", "example.com" and e-mail addresses as single tokens
    and indexes "well-known" as three overlapping ones; FTS5 splits them all into words.
    """
    create_pg_table(pg, "plain_fts", f"to_tsvector('{TS_CONFIG}', text)")
    try:
        for raw, row_id in [("3.14", 6), ("example.com", 7), ("bob", 7), ('"a well"', 8)]:
            assert row_id in sqlite_search(lite, raw)
            assert row_id in pg_search(pg, raw)
            assert row_id not in pg_search(pg, raw, table="plain_fts")
    finally:
        pg.execute(sa.text("DROP TABLE plain_fts"))


def _matches_on_both(pg: sa.Connection, text: str, query: str) -> tuple[bool, bool]:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE d USING fts5(text, tokenize='{SQLITE_TOKENIZER}')")
        conn.execute("INSERT INTO d (rowid, text) VALUES (1, ?)", (text,))
        expression = fts5_match_expression(parse_text_query(query))
        on_sqlite = bool(conn.execute("SELECT 1 FROM d WHERE d MATCH ?", (expression,)).fetchall())
    finally:
        conn.close()
    tsquery, params = tsquery_sql(parse_text_query(query))
    on_postgres = pg.execute(
        sa.text(f"SELECT {tsvector_sql('t')} @@ {tsquery} FROM (SELECT CAST(:t AS text) AS t) s"),
        {**params, "t": text},
    ).scalar_one()
    return on_sqlite, bool(on_postgres)


@pytest.mark.parametrize(
    ("text", "query", "matches"),
    [
        ("quickly", "quick", False),  # Porter: quickli / quick
        ("skies", "sky", False),  # Porter: ski / sky
        ("dying", "die", False),  # Porter: dy / die
        ("generous", "general", True),  # Porter: gener / gener
        ("news", "new", True),  # Porter: new / new
        ("communism", "community", True),  # Porter: commun / commun
    ],
)
def test_both_engines_stem_with_porter(
    pg: sa.Connection, text: str, query: str, matches: bool
) -> None:
    """Words the newer Snowball "english" stemmer treats differently stem alike here."""
    assert _matches_on_both(pg, text, query) == (matches, matches)


def test_only_sqlite_folds_diacritics(pg: sa.Connection) -> None:
    """A known difference: FTS5's remove_diacritics has no PostgreSQL counterpart here."""
    assert _matches_on_both(pg, "naïve café", "naive cafe") == (True, False)
