"""The district's oversight at scale, on one synthetic district (district/synthetic.py: by
default 100,000 elders, 5,000 workers of 300 providers, 100,000 work orders in the last month
over): times the coverage of the 15-minute circle (every service type; a gap list; the map's
grid), the response figures (district-wide and for one provider) and provider quality, and
the month's settlement (every provider's statement, issued in one transaction and rolled back:
an issued statement cannot be deleted, so the run leaves none).

Each question runs `--repeat` times; it prints the median, the fastest and the slowest time,
the queries of one run and the rows behind the answer, the machine's load average before and
after, and a verdict against the issue's targets (coverage within 5 s, the month's settlement
within 60 s, each by its median). `--keep` leaves the district for the next run (which then
reuses it, whatever the sizes asked); `--clear` only removes it.
"""

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import District, User
from backend.core.management.benchmarks import benchmark_allowed
from dispatch.models import ServiceRequest, ServiceType, Visit
from dispatch.quality import month_span, provider_quality
from dispatch.response_figures import Granularity, ResponseFigures, Scope, response_figures
from district import synthetic
from district.coverage import (
    coverage_gaps,
    coverage_grid,
    district_latitude,
    elders_in_gap,
    provider_reach_refresh,
    reach_configured,
    without_jit,
)
from district.models import ProviderReach
from elders.models import Elder, ElderStatus
from providers.models import Provider, Worker
from settlement.models import STATEMENT_FIELD, Entitlement, Statement
from settlement.services import statement_issue

COVERAGE_TARGET_S = 5.0
SETTLEMENT_TARGET_S = 60.0


@dataclass
class Timing:
    what: str
    seconds: list[float] = field(default_factory=list)
    queries: int = 0
    rows: str = ""
    target_s: float | None = None  # the issue's bound on the median, if it sets one


class _RolledBack(Exception):
    def __init__(self, sums: dict[str, Any]) -> None:
        self.sums = sums


def _measure(what: str, repeat: int, run: Callable[[], Any]) -> tuple[Timing, Any]:
    timing = Timing(what)
    result = None
    for _ in range(repeat):
        reset_queries()  # the log keeps 9,000 queries: a settlement's run fills it
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = run()
            timing.seconds.append(time.perf_counter() - started)
        timing.queries = len(captured)
    return timing, result


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


class Command(BaseCommand):
    help = (
        "Time coverage, response figures, provider quality and a month's settlement on a "
        "synthetic district."
    )

    def add_arguments(self, parser):
        parser.add_argument("--elders", type=int, default=100_000)
        parser.add_argument("--workers", type=int, default=5_000)
        parser.add_argument("--providers", type=int, default=300)
        parser.add_argument("--orders", type=int, default=100_000, help="Work orders in the month")
        parser.add_argument("--repeat", type=int, default=3, help="Runs of each question")
        parser.add_argument("--seed", type=int, default=16)
        parser.add_argument("--keep", action="store_true", help="Leave the district for a rerun")
        parser.add_argument("--clear", action="store_true", help="Only remove the district")

    def handle(self, *args: Any, **o: Any) -> None:
        benchmark_allowed("benchmark_district", "a synthetic district")
        say = self.stdout.write
        if o["clear"]:
            synthetic.clear()
            say("cleared")
            return
        if min(o["elders"], o["workers"], o["providers"], o["orders"], o["repeat"]) < 1:
            raise CommandError("--elders, --workers, --providers, --orders and --repeat: 1 or more")
        district = synthetic.benchmark_district()
        if district is not None and synthetic.settlement_month(district) is not None:
            say(f"reusing the kept district {synthetic.CODE} (--clear first for other sizes)")
        else:
            synthetic.clear()
            say(f"seeding district {synthetic.CODE}, seed {o['seed']}")
            started = time.perf_counter()
            district = synthetic.seed(
                sizes=synthetic.Sizes(o["elders"], o["workers"], o["providers"], o["orders"]),
                seed=o["seed"],
                say=say,
            )
            say(f"seeded in {time.perf_counter() - started:.1f} s")
        try:
            self._run(district, o["repeat"], say)
        finally:
            if not o["keep"]:
                synthetic.clear()

    def _run(self, district: District, repeat: int, say: Callable[[str], None]) -> None:
        month = synthetic.settlement_month(district)
        assert month is not None  # noqa: S101 - seeded above with its month
        say(self._census(district, month))
        say(f"machine: {os.cpu_count()} cores, load average {_load()} (1, 5, 15 min) before")
        say(f"{'question':48s} {'runs':>4s} {'median':>9s} {'min':>9s} {'max':>9s} queries")
        timings: list[Timing] = []
        sections: list[Callable[[], list[Timing]]] = [
            lambda: self._coverage(district, repeat),
            lambda: self._figures(district, month, repeat),
            lambda: [self._settlement(district, month, repeat)],
        ]
        for section in sections:  # each printed when done: the whole run takes minutes
            for t in section():
                timings.append(t)
                say(
                    f"{t.what:48s} {len(t.seconds):4d} {statistics.median(t.seconds):8.3f}s "
                    f"{min(t.seconds):8.3f}s {max(t.seconds):8.3f}s {t.queries:7d}"
                )
                say(f"    {t.rows}")
        say(f"machine: load average {_load()} after (a shared machine: other runs alongside)")
        verdicts = []
        for t in timings:
            if t.target_s is not None:
                median = statistics.median(t.seconds)
                met = median <= t.target_s
                verdicts.append(
                    f"{t.what.split(':')[0]} {median:.2f} s {'<=' if met else '>'} "
                    f"{t.target_s:g} s: {'met' if met else 'MISSED'}"
                )
        say(f"verdict: {'; '.join(verdicts)} (medians)")

    def _census(self, district: District, month: date) -> str:
        elders = Elder.objects.filter(district=district).aggregate(
            n=Count("pk"), active=Count("pk", filter=Q(status=ElderStatus.ACTIVE))
        )
        providers = Provider.objects.filter(district=district).aggregate(
            n=Count("pk"), active=Count("pk", filter=Q(status="active"))
        )
        visits = Visit.objects.filter(elder__district=district).aggregate(
            n=Count("pk"), verified=Count("pk", filter=Q(verified=True))
        )
        return (
            f"district {synthetic.CODE}: elders {elders['n']} (active {elders['active']}), "
            f"workers {Worker.objects.filter(provider__district=district).count()}, "
            f"providers {providers['n']} (active {providers['active']}), "
            f"work orders {ServiceRequest.objects.filter(district=district).count()} "
            f"in {month:%Y-%m}, visits {visits['n']} (verified {visits['verified']}), "
            f"entitlements {Entitlement.objects.filter(elder__district=district).count()}"
        )

    def _coverage(self, district: District, repeat: int) -> list[Timing]:
        reach = reach_configured()
        codes = list(ServiceType.objects.order_by("code").values_list("code", flat=True))
        providers = Provider.objects.filter(district=district)

        def cut() -> int:
            ProviderReach.objects.filter(provider__in=providers, reach_m=reach.metres).delete()
            return provider_reach_refresh(reach_m=reach.metres)

        pieces, cut_count = _measure("coverage: pieces cut from scratch", 1, cut)
        pieces.rows = (
            f"{cut_count} active providers cut, "
            f"{ProviderReach.objects.filter(provider__in=providers).count()} pieces; circle "
            f"{reach.minutes} min at {reach.speed_kmh:g} km/h = {reach.metres} m"
        )
        gaps, result = _measure(
            f"coverage: every service type ({len(codes)})",
            repeat,
            lambda: coverage_gaps(district_id=district.pk, service_codes=codes, reach=reach),
        )
        gaps.target_s = COVERAGE_TARGET_S
        gaps.rows = f"active elders {result.elders}; in the gap: " + ", ".join(
            f"{s.service_code} {s.in_gap}" for s in result.services
        )
        meal = elders_in_gap(
            Elder.objects.filter(district=district),
            district_id=district.pk,
            service_code="meal",
            reach=reach,
        ).order_by("id")

        def page() -> tuple[int, int]:
            with without_jit():
                return meal.count(), len(list(meal[:50]))

        listed, (count, shown) = _measure("coverage: gap list of meal, count + page", repeat, page)
        listed.rows = f"meal gap {count} elders, first page {shown}"
        latitude = district_latitude(district_id=district.pk) or synthetic.CENTRE[1]
        grid, cells = _measure(
            "coverage: grid of meal, 500 m cells",
            repeat,
            lambda: coverage_grid(
                district_id=district.pk,
                service_code="meal",
                reach=reach,
                cell_m=500,
                latitude=latitude,
            ),
        )
        grid.rows = f"{len(cells)} cells holding {sum(c.in_gap for c in cells)} elders in the gap"
        return [pieces, gaps, listed, grid]

    def _figures(self, district: District, month: date, repeat: int) -> list[Timing]:
        now = timezone.now()
        first, last = month_span(month)
        busiest = (
            ServiceRequest.objects.filter(district=district, assigned_provider__isnull=False)
            .values_list("assigned_provider")
            .annotate(n=Count("pk"))
            .order_by("-n", "assigned_provider")
            .first()
        )
        provider_id = busiest[0] if busiest else None
        scopes: list[tuple[str, Scope, Granularity]] = [
            ("by day", Scope(district_id=district.pk), "day"),
            ("by month", Scope(district_id=district.pk), "month"),
            (f"provider {provider_id}, by day", Scope(district.pk, provider_id=provider_id), "day"),
            ("service meal, by month", Scope(district.pk, service_type="meal"), "month"),
        ]
        timings = []
        for name, scope, granularity in scopes:

            def run(scope: Scope = scope, granularity: Granularity = granularity) -> Any:
                return response_figures(
                    scope=scope, first=first, last=last, granularity=granularity, now=now
                )

            timing, figures = _measure(f"responses: {name}", repeat, run)
            timing.rows = _figures_rows(figures)
            timings.append(timing)
        quality, report = _measure(
            f"provider quality: {month:%Y-%m}",
            repeat,
            lambda: provider_quality(district_id=district.pk, month=month),
        )
        scored = [p for p in report.providers if p.score is not None]
        quality.rows = (
            f"providers {len(report.providers)}, scored {len(scored)}, "
            f"below {report.threshold} {len(report.below)}, "
            f"verified visits {sum(p.visits for p in report.providers)}"
        )
        timings.append(quality)
        return timings

    def _settlement(self, district: District, month: date, repeat: int) -> Timing:
        admin = User.objects.get(username=f"{synthetic.USERNAME}admin")
        providers = list(Provider.objects.filter(district=district).order_by("pk"))
        sums = {"statements": Count("pk"), "lines": Sum("visits"), "held": Sum("held")}
        sums |= {field: Sum(field) for field in ["total", *STATEMENT_FIELD.values()]}

        def settle() -> dict[str, Any]:
            try:
                with transaction.atomic():
                    for provider in providers:
                        statement_issue(actor=admin, provider=provider, month=month)
                    raise _RolledBack(Statement.objects.filter(district=district).aggregate(**sums))
            except _RolledBack as done:
                return done.sums

        timing, result = _measure(f"settlement: every statement of {month:%Y-%m}", repeat, settle)
        timing.target_s = SETTLEMENT_TARGET_S
        parts = " + ".join(f"{field} {result[field]}" for field in STATEMENT_FIELD.values())
        timing.rows = (
            f"statements {result['statements']}, lines {result['lines']}, held {result['held']}, "
            f"total {result['total']} = {parts} yuan (rolled back)"
        )
        return timing


def _figures_rows(figures: ResponseFigures) -> str:
    total = figures.total
    return (
        f"periods {len(figures.periods)} (requests {sum(p.requests for p in figures.periods)}), "
        f"requests {total.requests}, accepted {total.to_accept.count}, "
        f"arrived {total.to_arrive.count}, to arrive p50 {total.to_arrive.p50_s} s "
        f"p90 {total.to_arrive.p90_s} s, non-arrivals {total.non_arrivals}, "
        f"exceptions {total.exceptions}, ratings {total.ratings}, "
        f"complaints {total.complaints_opened}"
    )
