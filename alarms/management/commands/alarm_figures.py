"""Print a district's alarm figures for the last N local days, today included: the same figures
as `GET /api/v1/alarms/figures/` (docs/alarms.md, "Figures"), as tables or as its JSON."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from alarms.api.figures import FiguresOutput
from alarms.figures import (
    KINDS,
    MAX_DAYS,
    OUTCOMES,
    DayFigures,
    Figures,
    Mark,
    Spread,
    alarm_figures,
    figures_today,
)
from backend.accounts.models import District


class Command(BaseCommand):
    help = "A district's alarm figures per local day: times to seen, acknowledged, on site."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", type=int, required=True, help="The district's id")
        parser.add_argument(
            "--days", type=int, default=7, help=f"Days back, today included (1-{MAX_DAYS})"
        )
        parser.add_argument("--json", action="store_true", help="The API's JSON instead")

    def handle(self, *args, **options) -> None:
        district = District.objects.filter(pk=options["district"]).first()
        if district is None:
            raise CommandError(f"No district with id {options['district']}.")
        days = options["days"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be 1 to {MAX_DAYS}.")
        last = figures_today()
        figures = alarm_figures(
            district_id=district.pk,
            first=last - timedelta(days=days - 1),
            last=last,
            now=timezone.now(),
        )
        if options["json"]:
            self.stdout.write(json.dumps(FiguresOutput(figures).data, ensure_ascii=False))
            return
        self.stdout.write(render(figures, f"{district.name} ({district.code})"))


def render(figures: Figures, name: str) -> str:
    marks = figures.total.acknowledged_within
    computed_at = figures.computed_at.astimezone(ZoneInfo(figures.time_zone))
    promises = ", ".join(
        f"{m.promised_share:.1%} within {m.within_s} s" for m in marks if m.promised_share
    )
    head = [
        f"Alarm figures: {name}, {figures.first} to {figures.last} (days in {figures.time_zone})",
        f"As of {computed_at:%Y-%m-%d %H:%M:%S}. Times in seconds after received.",
        f"Target: acknowledged within {figures.ack_target_s} s. Telecare: {promises}.",
        "A share counts decided alarms; pending: still open, not yet past the mark.",
    ]
    rows = [*figures.days, figures.total]
    times = _table(
        [
            "day",
            "alarms",
            "late",
            "shown p50/p90/max",
            "ack'd p50/p90/max",
            "on site n: p50/p90/max",
        ],
        [
            [
                _day(d),
                d.received,
                d.late,
                _spread(d.shown),
                _spread(d.acknowledged),
                f"{d.on_site.count}: {_spread(d.on_site)}",
            ]
            for d in rows
        ],
    )
    shares = _table(
        ["day", *(f"ack'd <= {m.within_s} s" for m in marks)],
        [[_day(d), *(_mark(m) for m in d.acknowledged_within)] for d in rows],
    )
    kinds = _table(
        ["day", *KINDS, "dispatched", "automatic"],
        [
            [_day(d), *(d.by_kind[k] for k in KINDS), d.dispatched, d.dispatched_automatically]
            for d in rows
        ],
    )
    outcomes = _table(
        ["day", *OUTCOMES, "not closed"],
        [[_day(d), *(d.outcomes[o] for o in OUTCOMES), d.not_closed] for d in rows],
    )
    return "\n\n".join(["\n".join(head), times, shares, kinds, outcomes]) + "\n"


def _day(day: DayFigures) -> str:
    return str(day.day) if day.day else "total"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _spread(spread: Spread) -> str:
    return "/".join(_seconds(v) for v in (spread.p50_s, spread.p90_s, spread.max_s))


def _mark(mark: Mark) -> str:
    share = "-" if mark.share is None else f"{mark.share:.1%}"
    pending = f" +{mark.pending} pending" if mark.pending else ""
    return f"{share} ({mark.within}/{mark.within + mark.missed}){pending}"


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [headers, *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return "\n".join([line(cells[0]), *(line(row) for row in cells[1:])])
