"""`manage.py record_overdue`: emit the claim.overdue events due now (claims.events.record_overdue).

For a site run from cron; the scheduled task calls the same function. Safe to run at any time, as often as
you like and from several places at once: a claim's passing of a due date is one event, however often asked.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from claims.events import record_overdue


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--today must be a date as YYYY-MM-DD, not {text!r}.") from None


class Command(BaseCommand):
    help = "Emit one claim.overdue event for each published promise or prediction newly past its due date."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--today",
            type=str,
            default=None,
            help="The day to judge by, YYYY-MM-DD (default: the site's today).",
        )

    def handle(self, *args, today: str | None, **options) -> None:
        events = record_overdue(_day(today) if today else None)
        for event in events:
            self.stdout.write(f"Overdue: {event.payload['claim']['slug']} (due {event.due_on.isoformat()})")
        self.stdout.write(f"{len(events)} overdue event{'' if len(events) == 1 else 's'} recorded.")
