"""`manage.py export_claims --format csv|jsonl|claimreview [--output FILE]`: every published claim, as the API's
exports (/api/v1/exports/...) write them, through the same code (claims.exports), to stdout or a file.

Progress goes to stderr, so stdout stays the data: the claims are counted first (one query), and after each
chunk a line says how far the export is. On a terminal it is one line rewritten in place; elsewhere (a log,
a CI job) it is written only with --progress, a line per chunk. --no-progress silences it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from claims.exports import FORMATS, claim_chunks
from claims.models import Claim


class Progress:
    """Counts the claims as their chunks go by and, when shown, writes a line on `stream` after each chunk:
    how many of the total, and the rate."""

    def __init__(self, stream: TextIO, total: int | None, *, in_place: bool) -> None:
        self.stream, self.total, self.in_place = stream, total, in_place
        self.done = 0
        self.started = time.monotonic()

    def count(self, chunks: Iterable[list[Claim]]) -> Iterator[list[Claim]]:
        """The chunks, passed on; a chunk is counted once it has been handed on (and written)."""
        for chunk in chunks:
            yield chunk
            self.done += len(chunk)
            if self.total is not None:
                self.show()

    def show(self) -> None:
        seconds = max(time.monotonic() - self.started, 1e-6)
        share = self.done / self.total if self.total else 1.0
        line = f"Exported {self.done:,} of {self.total:,} claims ({share:.0%}), {self.done / seconds:,.0f} claims/s"
        # On a terminal the line is rewritten in place (\r, then erase to the end of the line).
        self.stream.write(f"\r{line}\x1b[K" if self.in_place else line + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Write every published claim as CSV, JSON Lines or a ClaimReview feed (the API's exports)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=sorted(FORMATS), required=True, help="What to write.")
        parser.add_argument(
            "--output", "-o", help="The file to write (replaced if it exists); stdout by default."
        )
        progress = parser.add_mutually_exclusive_group()
        progress.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help="Show progress on stderr even when it is not a terminal (a line per chunk).",
        )
        progress.add_argument(
            "--no-progress", action="store_false", dest="progress", help="Show no progress."
        )

    def handle(
        self, *args: Any, format: str, output: str | None, progress: bool | None, **options: Any
    ) -> None:
        """Queries: one a chunk (claims.exports.claim_chunks), and the count first when progress is shown."""
        export = FORMATS[format]
        claims = export.claims(Claim.objects.published())
        stderr = self.stderr._out
        in_place = stderr.isatty()
        show = in_place if progress is None else progress
        meter = Progress(stderr, claims.count() if show else None, in_place=in_place)
        try:
            if output:
                self.write_file(export.stream(meter.count(claim_chunks(claims))), Path(output))
            else:
                for piece in export.stream(meter.count(claim_chunks(claims))):
                    self.stdout.write(piece, ending="")
                self.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`export_claims ... | head`): stop quietly. Python's own flush of stdout at
            # exit would fail again, so stdout is pointed at /dev/null first (what Python's docs advise).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        if show and in_place:
            stderr.write("\n")
        self.stderr.write(
            f"Wrote {meter.done:,} claims as {export.name} to {output or 'stdout'}.",
            style_func=lambda text: text,
        )

    def write_file(self, pieces: Iterable[str], path: Path) -> None:
        """Write the export beside `path` and move it into place once complete: a failed or interrupted
        export leaves no half-written file, and whatever `path` held stays until it is replaced whole."""
        try:
            # newline="": CSV's CRLF line ends are written as they are.
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", delete=False
            ) as file:
                partial = Path(file.name)
                try:
                    for piece in pieces:
                        file.write(piece)
                except BaseException:
                    partial.unlink(missing_ok=True)
                    raise
            # A temporary file is private (0600); the export gets the mode a new file would have.
            umask = os.umask(0)
            os.umask(umask)
            partial.chmod(0o666 & ~umask)
            partial.replace(path)
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
