"""Where a claim's quote stands in its source's archived text: the quote in its paragraph, for the claim page."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Context shown around a quote, each side, before it is cut at a sentence end.
QUOTE_CONTEXT_CHARS = 400
# A paragraph of prose ends a sentence, perhaps inside closing quotation marks; a headline does not.
_PROSE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*$")


@dataclass(frozen=True)
class QuoteInContext:
    """A quote found in its source's text: the text around it and the quote as it stands there."""

    before: str
    quote: str
    after: str


def quote_in_context(quote: str, text: str, speaker_name: str = "") -> QuoteInContext | None:
    """Find quote in text (any run of white space matching any other) and return its paragraph.

    Where the quote occurs more than once, a paragraph of prose (not a headline or a caption) that names
    the speaker wins, then the first. A long paragraph is cut at a sentence end about QUOTE_CONTEXT_CHARS
    from the quote on either side. None when the quote is empty or not in the text.
    """
    words = quote.split()
    if not words or not text:
        return None
    surname = speaker_name.split()[-1] if speaker_name.split() else ""
    best: tuple[tuple[bool, bool], re.Match[str], int, int] | None = None
    for match in re.finditer(r"\s+".join(re.escape(word) for word in words), text):
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end == -1 else end
        paragraph = text[start:end].rstrip()
        score = (_PROSE_END.search(paragraph) is not None, bool(surname) and surname in paragraph)
        if best is None or score > best[0]:
            best = (score, match, start, end)
    if best is None:
        return None
    _, match, start, end = best
    before, after = text[start : match.start()], text[match.end() : end]
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
    return QuoteInContext(before=before.lstrip(), quote=match.group(0), after=after.rstrip())
