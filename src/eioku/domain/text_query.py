"""What a user typed into the search box, reduced to words and phrases.

Both engines get the same parsed query (never the raw string), so SQLite FTS5 and PostgreSQL
tsvector search agree, and no user input can reach either engine's query syntax.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

SNIPPET_OPEN = "<b>"
"""Marker placed before each matched word in a search snippet (both engines)."""

SNIPPET_CLOSE = "</b>"
"""Marker placed after each matched word in a search snippet (both engines)."""

SNIPPET_ELLIPSIS = "…"
"""Marker for text left out of a snippet."""

ENGINE_MARKS = ("\x02", "\x03")
"""Control characters the engines put around matches; :func:`render_snippet` turns them
into ``<b>``/``</b>`` after HTML-escaping the text, so snippets are safe to display."""


MARKUP_STAND_INS = {"<": "\x04", ">": "\x05", "&": "\x06"}
"""Control characters an engine may substitute for markup characters before building a
snippet (PostgreSQL's headline parser drops anything that looks like a tag or entity)."""


def render_snippet(raw: str) -> str:
    """HTML-escape an engine snippet made with :data:`ENGINE_MARKS`, then mark matches.

    Stored text may contain ``<``, ``&`` or even ``<b>``; escaping first means the only
    markup in a snippet is the ``<b>``…``</b>`` Eioku put there.
    """
    start, end = ENGINE_MARKS
    escaped = html.escape(raw, quote=False)
    for char, stand_in in MARKUP_STAND_INS.items():
        escaped = escaped.replace(stand_in, html.escape(char))
    return escaped.replace(start, SNIPPET_OPEN).replace(end, SNIPPET_CLOSE)


MAX_PHRASE_WORDS = 32
"""Longest phrase kept whole; longer quoted text becomes consecutive phrases of this size.

PostgreSQL's ``ts_headline`` takes seconds per row for a phrase of a thousand words (FTS5
does not mind). Splitting only ever widens the result: each part must still match.
"""

_QUOTE = '"'
_ALNUM_RUN = re.compile(r"[^\W_]+", re.UNICODE)
_WORD_OR_QUOTE = re.compile(r'[^\W_]+|"', re.UNICODE)


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A parsed search: every phrase must occur in a matching text.

    Attributes:
        phrases: Distinct phrases in first-seen order; each phrase is one or more
            lower-cased words that must occur next to each other, in this order. A bare
            word is a one-word phrase.
    """

    phrases: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        for phrase in self.phrases:
            if not phrase or not all(phrase):
                raise ValueError("every phrase needs at least one word, and no word is empty")

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to search for (such a query matches nothing)."""
        return not self.phrases

    @property
    def words(self) -> tuple[str, ...]:
        """Every distinct word of the query, in first-seen order."""
        return tuple(dict.fromkeys(word for phrase in self.phrases for word in phrase))


def parse_text_query(raw: str) -> TextQuery:
    """Parse anything a user may type into a :class:`TextQuery`; never raises.

    Words are maximal runs of Unicode letters and digits (``[^\\W_]+``); combining marks
    right after a letter or digit stay in the word (Devanagari vowel signs, Hebrew points,
    decomposed accents), because PostgreSQL's parser keeps them inside a word and splitting
    there would make such words unfindable. Everything else (punctuation, symbols, emoji,
    NUL, underscores) only separates words. Words are lower-cased character by character
    with the simple Unicode mapping, as both engines do; ``str.casefold`` is deliberately
    not used because its full folding (``ß`` to ``ss``, ``ς`` to ``σ``) no longer matches
    what the engines index.

    Text between a pair of double quotes (``"``) is one phrase; a quote left open closes at
    the end of the input. Words outside quotes are one-word phrases. Operator words such as
    ``AND``, ``OR``, ``NOT`` and ``NEAR`` are ordinary words. A quoted phrase of more than
    :data:`MAX_PHRASE_WORDS` words is split into consecutive phrases of at most that many
    words (which can only widen the results). Identical phrases are kept once, in
    first-seen order. No word is ever dropped: a 10 KB query is used whole, and both
    engines are tested to run one quickly.

    Args:
        raw: The user's search string, of any content.

    Returns:
        The parsed query; empty when ``raw`` contains no letters or digits.
    """
    phrases: dict[tuple[str, ...], None] = {}
    in_quotes = False
    quoted: list[str] = []
    for token in _tokens(raw):
        if token == _QUOTE:
            _add_phrase(phrases, quoted)
            quoted = []
            in_quotes = not in_quotes
        elif in_quotes:
            quoted.append(token)
        else:
            phrases.setdefault((token,), None)
    _add_phrase(phrases, quoted)
    return TextQuery(phrases=tuple(phrases))


def _add_phrase(phrases: dict[tuple[str, ...], None], words: list[str]) -> None:
    for start in range(0, len(words), MAX_PHRASE_WORDS):
        phrases.setdefault(tuple(words[start : start + MAX_PHRASE_WORDS]), None)


def _tokens(raw: str) -> list[str]:
    """Split ``raw`` into lower-cased words and ``_QUOTE`` markers (a word is never a quote)."""
    tokens: list[str] = []
    size = len(raw)
    pos = 0
    while (match := _WORD_OR_QUOTE.search(raw, pos)) is not None:
        if match.group() == _QUOTE:
            tokens.append(_QUOTE)
            pos = match.end()
            continue
        start, end = match.span()
        while True:
            after_marks = end
            while after_marks < size and unicodedata.category(raw[after_marks])[0] == "M":
                after_marks += 1
            if after_marks == end:
                break
            end = after_marks
            more = _ALNUM_RUN.match(raw, end)
            if more is None:
                break
            end = more.end()
        tokens.append(_lower(raw[start:end]))
        pos = end
    return tokens


def _lower(word: str) -> str:
    """Lower-case ``word`` one character at a time (simple case mapping, length-preserving)."""
    if word.isascii():
        return word.lower()
    return "".join(_lower_char(char) for char in word)


def _lower_char(char: str) -> str:
    lowered = char.lower()
    if len(lowered) == 1:
        return lowered
    # Only U+0130 (I with dot above) lowers to two characters; its simple mapping is "i".
    first = lowered[0]
    return first if first.isalnum() else char
