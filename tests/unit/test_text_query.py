"""The search-box parser: any string in, words and phrases out, never an error."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eioku.domain.text_query import (
    ENGINE_MARKS,
    MAX_PHRASE_WORDS,
    TextQuery,
    parse_text_query,
    render_snippet,
)

# A letter or digit, then letters, digits and the combining marks that belong to them.
WORD = re.compile(r"[^\W_]+", re.UNICODE)


def is_word(word: str) -> bool:
    return WORD.match(word[0]) is not None and all(
        WORD.fullmatch(char) is not None or unicodedata.category(char).startswith("M")
        for char in word
    )


def test_bare_words_become_one_word_phrases() -> None:
    assert parse_text_query("quick brown fox").phrases == (("quick",), ("brown",), ("fox",))


def test_quoted_phrase_becomes_one_phrase() -> None:
    query = parse_text_query('fox "jumps over the" dog')
    assert query.phrases == (("fox",), ("jumps", "over", "the"), ("dog",))


def test_unbalanced_quote_closes_at_the_end() -> None:
    assert parse_text_query('lazy "brown fox').phrases == (("lazy",), ("brown", "fox"))


def test_empty_and_adjacent_quotes_add_nothing() -> None:
    assert parse_text_query('"" cat ""').phrases == (("cat",),)
    assert parse_text_query('"a b""c d"').phrases == (("a", "b"), ("c", "d"))


def test_quote_inside_a_word_splits_it() -> None:
    assert parse_text_query('cat"dog').phrases == (("cat",), ("dog",))


def test_operators_are_words() -> None:
    query = parse_text_query("cats AND dogs OR NOT birds NEAR fish")
    assert query.phrases == (
        ("cats",),
        ("and",),
        ("dogs",),
        ("or",),
        ("not",),
        ("birds",),
        ("near",),
        ("fish",),
    )


def test_fts_syntax_characters_only_separate_words() -> None:
    query = parse_text_query("NEAR(cat dog, 2) col:cat -dog +bird ^fish pre* {a b}")
    assert query.phrases == (
        ("near",),
        ("cat",),
        ("dog",),
        ("2",),
        ("col",),
        ("bird",),
        ("fish",),
        ("pre",),
        ("a",),
        ("b",),
    )


def test_punctuation_only_is_empty() -> None:
    for raw in ["", "   ", "!!!", '"""', "*:^-+()", "\x00\x00", "🐱🐶", "_ __ ___", "\u0301"]:
        query = parse_text_query(raw)
        assert query.is_empty, raw
        assert query.phrases == ()


def test_is_empty_is_false_with_a_word() -> None:
    assert not parse_text_query("x").is_empty


def test_casefolding_lower_cases_every_script() -> None:
    query = parse_text_query("HELLO Привет ΚΑΛΗΜΈΡΑ ǅemal")
    assert query.phrases == (("hello",), ("привет",), ("καλημέρα",), ("ǆemal",))


def test_lowering_is_per_character_like_the_engines() -> None:
    # Full case folding would turn ß into ss and final ς into σ; the engines keep both,
    # so the query must too, or those words could never match.
    assert parse_text_query("Straße λόγος").phrases == (("straße",), ("λόγος",))
    # Upper-case sigma lowers to σ one character at a time, as SQLite and PostgreSQL do.
    assert parse_text_query("ΛΌΓΟΣ").phrases == (("λόγοσ",),)
    # İ (U+0130) lowers to the single letter i, not i plus a combining dot.
    assert parse_text_query("İSTANBUL").phrases == (("istanbul",),)


def test_non_latin_words_kept() -> None:
    query = parse_text_query("日本語 한국어 العربية עברית ภาษาไทย")
    assert query.words == ("日本語", "한국어", "العربية", "עברית", "ภาษาไทย")


def test_combining_marks_stay_inside_their_word() -> None:
    # Devanagari vowel signs and viramas, Hebrew points, a decomposed accent.
    query = parse_text_query("हिन्दी עִבְרִית cafe\u0301s")
    assert query.words == ("हिन्दी", "עִבְרִית", "cafe\u0301s")


def test_underscore_and_nul_separate_words() -> None:
    assert parse_text_query("snake_case\x00nul").words == ("snake", "case", "nul")


def test_digits_are_words() -> None:
    assert parse_text_query("3.14 v2 ٣").phrases == (("3",), ("14",), ("v2",), ("٣",))


def test_identical_phrases_deduplicated_keeping_first_order() -> None:
    query = parse_text_query('b a "a" B "a b" "A B" a')
    assert query.phrases == (("b",), ("a",), ("a", "b"))


def test_words_lists_each_word_once() -> None:
    assert parse_text_query('"a b" b c').words == ("a", "b", "c")


def test_long_phrase_splits_into_consecutive_parts() -> None:
    words = [f"w{i}" for i in range(MAX_PHRASE_WORDS * 2 + 3)]
    query = parse_text_query('"' + " ".join(words) + '"')
    assert query.phrases == (
        tuple(words[:MAX_PHRASE_WORDS]),
        tuple(words[MAX_PHRASE_WORDS : MAX_PHRASE_WORDS * 2]),
        tuple(words[MAX_PHRASE_WORDS * 2 :]),
    )


def test_ten_kilobyte_query_keeps_every_word() -> None:
    raw = " ".join(f"word{i}" for i in range(2000))[:10_240]
    query = parse_text_query(raw)
    assert [word for (word,) in query.phrases] == raw.split()


def test_text_query_is_frozen_and_rejects_empty_phrases() -> None:
    query = TextQuery(phrases=(("a",),))
    with pytest.raises(AttributeError):
        query.phrases = ()  # type: ignore[misc]
    with pytest.raises(ValueError, match="at least one word"):
        TextQuery(phrases=((),))
    with pytest.raises(ValueError, match="at least one word"):
        TextQuery(phrases=(("a", ""),))


@given(st.text())
def test_any_text_parses_to_words(raw: str) -> None:
    query = parse_text_query(raw)
    assert len(set(query.phrases)) == len(query.phrases)
    for phrase in query.phrases:
        assert 1 <= len(phrase) <= MAX_PHRASE_WORDS
        for word in phrase:
            assert is_word(word), word
            assert '"' not in word


def simple_lower(word: str) -> str:
    """Lower-case one character at a time, the way both search engines do."""
    return "".join(char.lower()[0] for char in word)


@given(st.lists(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1), max_size=8))
def test_letters_and_digits_between_spaces_come_back_lower_cased(words: list[str]) -> None:
    query = parse_text_query(" ".join(words))
    assert query.phrases == tuple((word,) for word in dict.fromkeys(map(simple_lower, words)))
    for word in query.words:
        assert WORD.fullmatch(word) is not None


def test_render_snippet_escapes_stored_markup_and_marks_only_matches() -> None:
    start, end = ENGINE_MARKS
    raw = f"a <b>bold</b> & {start}dog{end} \x04i\x05"
    assert render_snippet(raw) == "a &lt;b&gt;bold&lt;/b&gt; &amp; <b>dog</b> &lt;i&gt;"
