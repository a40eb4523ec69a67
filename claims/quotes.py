"""A claim's quote checked against its source's archived text, and shown in its paragraph.

- `normalise` makes typographic variants compare equal (curly and straight quotation marks, the dashes, any
  run of white space), keeping the way back to the original text's offsets. It never folds case: "Kyiv" and
  "kyiv" are different words in a quotation.
- `find_quote` is the check of a verbatim quote (claims.services.save_claim calls it): where the quote stands
  in the text, as offsets into the original; `closest_passage` is what a refusal shows instead.
- `paragraph_around` cuts the quote's paragraph out of the text (or out of a window of it read in SQL,
  ClaimQuerySet.with_quote_context), for the claim page and the API: never the whole article.
"""

from __future__ import annotations

import difflib
import heapq
import re
from dataclasses import dataclass

# Context shown around a quote, each side, before it is cut at a sentence end.
QUOTE_CONTEXT_CHARS = 400
# A paragraph of prose ends a sentence, perhaps inside closing quotation marks; a headline does not.
_PROSE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*$")

# Typographic variants and the plain character each one is compared as.
_EQUIVALENTS = str.maketrans(
    {
        # single quotation marks (left, right, low, reversed) and the prime
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
        # double quotation marks (left, right, low, reversed), the double prime and the guillemets
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        # hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus sign
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    }
)
_WHITESPACE = re.compile(r"\s+")

# closest_passage's bounds, so a refusal costs little however long the article: the quote's first words
# compared, the passages compared word by word (the ones sharing the most words), and the length shown.
_CLOSEST_QUOTE_WORDS = 120
_CLOSEST_CANDIDATES = 50
_CLOSEST_SHOWN_CHARS = 400
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]*\s+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Normalised:
    """A text as compared (`text`) and, for each of its characters, that character's offset in the original
    (`origin`, one longer than `text`: its last entry is the original's length)."""

    text: str
    origin: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the normalised text[start:end] (end > start)."""
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str) -> Normalised:
    """The text with the typographic single quotation marks and the prime as ', the double ones, the double
    prime and the guillemets as ", the dashes and the minus sign as -, and every run of white space (line
    breaks included) as one space. Linear in the text's length."""
    out: list[str] = []
    origin: list[int] = []
    position = 0
    for match in _WHITESPACE.finditer(text):
        _append(out, origin, text, position, match.start())
        out.append(" ")
        origin.append(match.start())
        position = match.end()
    _append(out, origin, text, position, len(text))
    origin.append(len(text))
    return Normalised(text="".join(out), origin=origin)


def _append(out: list[str], origin: list[int], text: str, start: int, end: int) -> None:
    out.append(text[start:end].translate(_EQUIVALENTS))
    origin.extend(range(start, end))


@dataclass(frozen=True)
class QuoteInContext:
    """A quote in its source's text: the text around it and the quote as it stands there."""

    before: str
    quote: str
    after: str


def find_quote(quote: str, text: str, speaker_name: str = "") -> tuple[int, int] | None:
    """Where `quote` stands in `text`, as (start, end) offsets into `text`, or None when it is not there.

    Compared after `normalise` on both sides (the quote's own leading and trailing white space ignored), so a
    quote typed with straight quotation marks, a hyphen for a dash or on one line is found in the text as
    received. Where it occurs more than once, a paragraph of prose (not a headline or a caption) that names
    the speaker wins, then the first. None for an empty quote. Linear in the text's length per occurrence.
    """
    wanted = normalise(quote).text.strip()
    if not wanted or not text:
        return None
    haystack = normalise(text)
    surname = speaker_name.split()[-1] if speaker_name.split() else ""
    best: tuple[tuple[bool, bool], tuple[int, int]] | None = None
    at = haystack.text.find(wanted)
    while at != -1:
        span = haystack.original_span(at, at + len(wanted))
        paragraph = _paragraph_bounds(text, *span)
        prose = text[paragraph[0] : paragraph[1]].rstrip()
        score = (_PROSE_END.search(prose) is not None, bool(surname) and surname in prose)
        if best is None or score > best[0]:
            best = (score, span)
        at = haystack.text.find(wanted, at + 1)
    return best[1] if best is not None else None


def closest_passage(quote: str, text: str) -> str:
    """The passage of `text` most like `quote`: the sentence (or run of as many sentences as the quote has)
    sharing the most of the quote's words in order, white space collapsed, cut to about 400 characters; ""
    when no sentence shares a word with it.

    For the message that refuses a quote not found. Bounded cost however long the text: one pass counts
    each passage's words in common with the quote (a set intersection), and word-level difflib runs only
    on the 50 passages with the most, against the quote's first 120 words.
    """
    quote_words = [word.casefold() for word in _WORD.findall(normalise(quote).text)][:_CLOSEST_QUOTE_WORDS]
    if not quote_words:
        return ""
    haystack = normalise(text)
    sentences = _sentence_spans(haystack, text)
    size = max(1, len(_sentence_spans(normalise(quote), quote)))
    words_of = [[word.casefold() for word in _WORD.findall(haystack.text[a:b])] for a, b in sentences]
    wanted = set(quote_words)
    candidates = []
    for first in range(len(sentences)):
        words = [word for sentence in words_of[first : first + size] for word in sentence]
        common = len(wanted.intersection(words))
        if common:
            candidates.append((common, first, words))
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(quote_words)
    best: tuple[tuple[int, float, int], int] | None = None
    for _, first, words in heapq.nlargest(_CLOSEST_CANDIDATES, candidates, key=lambda c: (c[0], -c[1])):
        matcher.set_seq1(words)
        shared = sum(block.size for block in matcher.get_matching_blocks())
        score = (shared, matcher.ratio(), -first)
        if best is None or score > best[0]:
            best = (score, first)
    if best is None:
        return ""
    last = min(best[1] + size, len(sentences)) - 1
    # The passage as the text has it (its own quotation marks and dashes), white space collapsed.
    start, end = haystack.original_span(sentences[best[1]][0], sentences[last][1])
    passage = " ".join(text[start:end].split())
    return passage if len(passage) <= _CLOSEST_SHOWN_CHARS else passage[: _CLOSEST_SHOWN_CHARS - 1] + "…"


def _sentence_spans(normalised: Normalised, original: str) -> list[tuple[int, int]]:
    """The (start, end) in `normalised.text` of each sentence, without surrounding spaces: split after a
    sentence's end (and its closing quotation marks) and at every line break of the original, so that a
    headline or a caption is a passage of its own."""
    text = normalised.text
    cuts: list[tuple[int, int]] = []  # (end of a sentence, start of the next)
    for boundary in _SENTENCE_END.finditer(text):
        closing = len(boundary.group(0)) - len(boundary.group(0).lstrip("\"')"))
        cuts.append((boundary.start() + closing, boundary.end()))
    for space in re.finditer(" ", text):
        at = space.start()
        if "\n" in original[normalised.origin[at] : normalised.origin[at + 1]]:
            cuts.append((at, at + 1))
    spans, position = [], 0
    for end, next_start in [*sorted(cuts), (len(text), len(text))]:
        if end > position and text[position:end].strip():
            chunk = text[position:end]
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((position + lead, position + len(chunk.rstrip())))
        position = max(position, next_start)
    return spans


def _paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The offsets of the line (a paragraph, in an archived text) holding text[start:end]."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return first, len(text) if last == -1 else last


def paragraph_around(text: str, start: int, end: int) -> QuoteInContext:
    """The quote at text[start:end] in its paragraph, a long paragraph cut at a sentence end about
    QUOTE_CONTEXT_CHARS from the quote on either side ("…" where it was cut). `text` may be a window of the
    archived text that reaches further than that either side. Runs no query."""
    first, last = _paragraph_bounds(text, start, end)
    before, after = text[first:start], text[end:last]
    if len(before) > QUOTE_CONTEXT_CHARS:
        cut = before[: len(before) - QUOTE_CONTEXT_CHARS]
        sentence = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
        before = "… " + before[(sentence + 2 if sentence != -1 else len(cut)) :].lstrip()
    if len(after) > QUOTE_CONTEXT_CHARS:
        sentence = min(
            (i for i in (after.find(m, QUOTE_CONTEXT_CHARS) for m in (". ", "? ", "! ")) if i != -1),
            default=QUOTE_CONTEXT_CHARS - 1,
        )
        after = after[: sentence + 1].rstrip() + " …"
    return QuoteInContext(before=before.lstrip(), quote=text[start:end], after=after.rstrip())


def quote_in_context(quote: str, text: str, speaker_name: str = "") -> QuoteInContext | None:
    """Find quote in text (find_quote) and return it in its paragraph (paragraph_around); None when the
    quote is empty or not in the text."""
    found = find_quote(quote, text, speaker_name)
    return paragraph_around(text, *found) if found is not None else None
