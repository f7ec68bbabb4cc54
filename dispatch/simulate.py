"""Play the demo district live, all of it: needs arrive from elders all over the district
(the frailer and those living alone more often), care plans make their scheduled work, workers
come on and off shift, move about, answer offers, set out, check in and out; a colleague of
the operator calls families back, takes alerts and sends queued work round again.

Everything goes through the same services as the API, so every step writes its events and
pushes them to staff's sockets: open the console or a WebSocket client and watch. The demo
accounts are left to the people at the keyboard (`dispatch.demo.demo_hands`): simulate never
answers worker1's offers or does its visits, never takes the `provider` account's whole jobs,
and makes no needs for family1's elder; it only keeps worker1's phone reporting where it is.
Random choices come from one seed, and rows are visited in a fixed order.
"""

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.db.models import F, Q
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.core.errors import DomainError
from elders.models import Category, Elder, ElderStatus, LivingArrangement
from providers.models import ShiftState, Worker, WorkerPosition
from providers.services import worker_position_record, worker_shift_set

from . import services
from .care_plans import care_plans_generate
from .demo import demo_hands, offset
from .escalation import alert_acknowledge, alert_resolve
from .follow_up import feedback_record
from .models import (
    JobOffer,
    OfferState,
    OperatorAlert,
    Priority,
    RequestState,
    ServiceRequest,
    ServiceType,
)
from .tasks import sweep_deadlines

COLLEAGUE = "operator2"  # the simulated operator on the next desk; `operator` is yours
# Who asks for what, before the elder's own profile adds to it (see `_service_for`).
NEED_MIX = {
    "meal": 3.0,
    "cleaning": 2.0,
    "companionship": 1.5,
    "escort": 1.0,
    "shopping": 1.0,
    "errands": 0.5,
    "bathing": 0.5,
    "medical": 0.5,
}
RATINGS = {5: 55, 4: 30, 3: 10, 2: 3, 1: 2}
WELFARE_OUTCOMES = {"seen_well": 90, "not_home": 4, "needs_help": 3, "no_answer": 3}
# How the simulated operator closes each kind of alert it took.
ALERT_RESOLUTION = {
    "non_arrival": "sent_back_to_matching",
    "late_arrival": "worker_on_the_way",
    "missing_check_out": "worker_forgot_check_out",
    "welfare_no_answer": "family_confirmed_well",
    "welfare_needs_help": "service_arranged",
}
REFUSED = (DomainError,)  # someone (the sweeper, a person) got there first


@dataclass(frozen=True)
class Pace:
    """How long the simulated people take, in seconds of real time (compressed)."""

    answer: float = 5  # a worker reads an offer
    set_out: float = 10  # from accepting (or the window being near) to leaving
    arrive: float = 20  # on the way
    serve: float = 60  # at the door
    follow_up: float = 20  # from the visit's end to the call back
    take_alert: float = 10  # an alert waits for the operator
    position_every: float = 60  # a phone reports its position
    care_plans_every: float = 300


def _poisson(rng: random.Random, mean: float) -> int:
    """Arrivals in one tick (Knuth's method; means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _age(born: date | None, today: date) -> int:
    if born is None:
        return 70
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Simulation:
    def __init__(
        self,
        *,
        rate_per_min: float | None = None,
        seed: int,
        say: Callable[[str], None],
        pace: Pace = Pace(),
    ):
        self.rng = random.Random(seed)
        self.say, self.pace = say, pace
        self.hands = demo_hands()
        today = timezone.localdate()
        elders = list(
            Elder.objects.filter(status=ElderStatus.ACTIVE)
            .exclude(pk__in=self.hands.elder_ids)
            .order_by("pk")
            .values_list("pk", "care_level", "living_arrangement", "categories", "birth_date")
        )
        if not elders:
            raise RuntimeError("no demo data: run `manage.py seed_demo` first")
        self.elders = [
            (pk, level or 0, living, set(categories), _age(born, today))
            for pk, level, living, categories, born in elders
        ]
        self.elder_weights = [self._frailty(e) for e in self.elders]
        self.worker_ids = list(
            Worker.objects.exclude(pk__in=self.hands.worker_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # One need a minute for every 60 elders: with visits taking a couple of minutes from
        # offer to check-out, about half the workers on shift are busy at any time.
        self.rate = rate_per_min if rate_per_min is not None else max(6.0, len(elders) / 60)
        self.types = {t.code: t for t in ServiceType.objects.all()}
        self.operator = self._colleague(
            Elder.objects.order_by("pk").values_list("district_id", flat=True)[0]
        )
        self.ignored: set[int] = set()  # offers a worker let lapse
        self.called_back: set[int] = set()
        self.retried: set[int] = set()
        self.next_care_plans = 0.0

    @staticmethod
    def _colleague(district_id: int) -> User:
        user, _ = User.objects.get_or_create(
            username=COLLEAGUE,
            defaults={
                "role": Role.OPERATOR,
                "district_id": district_id,
                "password": make_password(None),
            },
        )
        return user

    @staticmethod
    def _frailty(elder: tuple) -> float:
        _, level, living, categories, age = elder
        return (
            1
            + level
            + 2 * (living == LivingArrangement.ALONE)
            + (age >= 80)
            + (Category.DEMENTIA in categories)
        )

    def describe(self) -> str:
        return (
            f"{len(self.elders)} elders, {len(self.worker_ids)} workers, "
            f"{self.rate:.1f} needs a minute, plus care plans; "
            f"left to you: worker1, the provider account's whole jobs, family1's elder"
        )

    def tick(self) -> None:
        now = timezone.now()
        self._care_plans()
        self._shifts()
        self._phones(now)
        for _ in range(_poisson(self.rng, self.rate / 60)):
            self._new_need(now)
        self._answer_offers(now)
        self._name_workers()
        self._visits(now)
        self._follow_up(now)
        self._take_alerts(now)
        sweep_deadlines()

    def _try(self, what: str | None, action: Callable[..., object], **arguments: Any) -> bool:
        """Call a service; a refusal (someone got there first) is said, not raised."""
        try:
            action(**arguments)
        except REFUSED as refused:
            self.say(f"{what}: {getattr(refused, 'detail', refused)}")
            return False
        return True

    # Needs -------------------------------------------------------------------------------

    def _care_plans(self) -> None:
        if time.monotonic() < self.next_care_plans:
            return
        self.next_care_plans = time.monotonic() + self.pace.care_plans_every
        made = care_plans_generate()
        if made:
            self.say(f"plans {made} scheduled requests from care plans")

    def _service_for(self, elder: tuple) -> str:
        _, level, living, _, _ = elder
        if self.rng.random() < 0.03 + 0.02 * (level >= 3):
            return "emergency"
        mix = dict(NEED_MIX)
        mix["bathing"] += level
        mix["medical"] += 0.5 * level
        mix["companionship"] += 2 * (living == LivingArrangement.ALONE)
        mix["welfare_check"] = 1.0 if living == LivingArrangement.ALONE else 0.0
        return self.rng.choices(list(mix), weights=list(mix.values()))[0]

    def _new_need(self, now) -> None:
        elder = self.rng.choices(self.elders, weights=self.elder_weights)[0]
        code = self._service_for(elder)
        later = code != "emergency" and self.rng.random() < 0.2  # booked for this afternoon
        start = now + timedelta(minutes=self.rng.randint(60, 180)) if later else None
        sr = services.service_request_create(
            elder=Elder.objects.get(pk=elder[0]),
            service_type=self.types[code],
            channel="operator",
            caller=self.operator,
            window_start=start,
            notes="simulated",
        )
        self.say(f"new   {sr.reference} {code:<14} elder {elder[0]}")

    # Workers -----------------------------------------------------------------------------

    def _shifts(self) -> None:
        """A few workers a minute come on or go off shift, keeping about 60% on."""
        for _ in range(_poisson(self.rng, len(self.worker_ids) / 6000)):
            worker = Worker.objects.select_related("user").get(pk=self.rng.choice(self.worker_ids))
            on = Worker.objects.filter(pk__in=self.worker_ids, shift_state=ShiftState.ON).count()
            share = on / len(self.worker_ids)
            if worker.shift_state == ShiftState.ON and worker.active_jobs == 0 and share > 0.5:
                worker_shift_set(worker=worker, state=ShiftState.OFF, actor=worker.user)
                self.say(f"shift {worker.full_name} off")
            elif worker.shift_state != ShiftState.ON and share < 0.7:
                worker_shift_set(worker=worker, state=ShiftState.ON, actor=worker.user)
                self.say(f"shift {worker.full_name} on")

    def _phones(self, now) -> None:
        """Phones of workers on shift report every minute or so; a free worker has moved a
        little. worker1's phone reports too, where it is."""
        stale = (
            WorkerPosition.objects.filter(
                on_shift=True, recorded_at__lt=now - timedelta(seconds=self.pace.position_every)
            )
            .select_related("worker")
            .order_by("recorded_at", "pk")[:60]
        )
        for position in stale:
            where = (position.point.x, position.point.y)
            idle = position.worker.active_jobs == 0
            if idle and position.worker_id not in self.hands.worker_ids:
                heading = self.rng.uniform(0, 2 * math.pi)
                step = self.rng.uniform(0, 300)
                where = offset(where, step * math.cos(heading), step * math.sin(heading))
            worker_position_record(worker_id=position.worker_id, point=Point(*where, srid=4326))

    def _answer_offers(self, now) -> None:
        waiting = (
            JobOffer.objects.filter(
                state=OfferState.PENDING, sent_at__lte=now - timedelta(seconds=self.pace.answer)
            )
            .exclude(pk__in=self.ignored)
            .exclude(worker_id__in=self.hands.worker_ids)
            .exclude(worker__isnull=True, provider_id__in=self.hands.provider_ids)
            .select_related("worker__user", "provider", "request")
            .order_by("pk")
        )
        for offer in waiting:
            who = (
                offer.worker.user if offer.worker else offer.provider.admins.order_by("pk").first()
            )
            name = offer.worker.full_name if offer.worker else offer.provider.name
            roll = self.rng.random()
            urgent = offer.request.priority == Priority.EMERGENCY
            if who is None or roll >= (0.85 if urgent else 0.75):
                self.ignored.add(offer.pk)
            elif roll < (0.85 if urgent else 0.6):
                if self._try(
                    f"offer {offer.pk}",
                    services.offer_accept,
                    offer_id=offer.pk,
                    user=who,
                ):
                    self.say(f"offer {offer.pk} accepted by {name}")
            elif self._try(
                f"offer {offer.pk}",
                services.offer_decline,
                offer_id=offer.pk,
                user=who,
                reason="busy",
            ):
                self.say(f"offer {offer.pk} declined by {name}")

    def _name_workers(self) -> None:
        """Providers that took whole jobs name one of their workers on shift with the skill."""
        for sr in (
            ServiceRequest.objects.filter(
                state=RequestState.ASSIGNED,
                assigned_worker__isnull=True,
                assigned_provider__isnull=False,
            )
            .exclude(assigned_provider_id__in=self.hands.provider_ids)
            .select_related("service_type", "assigned_provider")
            .order_by("pk")
        ):
            provider = sr.assigned_provider
            if provider is None:  # excluded by the query; the column allows it
                continue
            admin = provider.admins.order_by("pk").first()
            free = list(
                provider.workers.filter(
                    skills__contains=[sr.service_type.code],
                    shift_state=ShiftState.ON,
                    active_jobs__lt=F("capacity"),
                ).order_by("pk")
            )
            if admin is None or not free:
                continue
            worker = self.rng.choice(free)
            if self._try(
                f"naming {sr.reference}",
                services.request_assign_worker,
                request_id=sr.pk,
                user=admin,
                worker_id=worker.pk,
            ):
                self.say(f"named {sr.reference} -> {worker.full_name}")

    def _visits(self, now) -> None:
        mine = ServiceRequest.objects.filter(assigned_worker__isnull=False).exclude(
            assigned_worker_id__in=self.hands.worker_ids
        )
        pace = self.pace
        for sr in self._aged(mine, RequestState.ASSIGNED, now, pace.set_out).filter(
            window_start__lte=now + timedelta(minutes=15)
        ):
            user = sr.assigned_worker.user
            if self._try(sr.reference, services.request_set_out, request_id=sr.pk, user=user):
                self.say(f"out   {sr.reference} {sr.assigned_worker.full_name} on the way")
        for sr in self._aged(mine, RequestState.EN_ROUTE, now, pace.arrive):
            home = (sr.elder.location.x, sr.elder.location.y)
            door = Point(*offset(home, self.rng.gauss(0, 15), self.rng.gauss(0, 15)), srid=4326)
            worker_position_record(worker_id=sr.assigned_worker_id, point=door)
            user = sr.assigned_worker.user
            if self._try(
                sr.reference,
                services.visit_check_in,
                request_id=sr.pk,
                user=user,
                point=door,
            ):
                self.say(f"in    {sr.reference} {sr.assigned_worker.full_name} at the door")
        for sr in self._aged(mine, RequestState.ON_SITE, now, pace.serve):
            outcome = ""
            if sr.service_type.code == "welfare_check":
                outcome = self._pick(WELFARE_OUTCOMES)
            user, door = sr.assigned_worker.user, sr.elder.location
            if self._try(
                sr.reference,
                services.visit_check_out,
                request_id=sr.pk,
                user=user,
                point=door,
                welfare_outcome=outcome,
            ):
                self.say(f"done  {sr.reference} {sr.service_type.code} {outcome}".rstrip())

    @staticmethod
    def _aged(qs, state: str, now, seconds: float):
        return (
            qs.filter(state=state, state_changed_at__lte=now - timedelta(seconds=seconds))
            .select_related("assigned_worker__user", "elder", "service_type")
            .order_by("pk")
        )

    def _pick(self, weights: dict):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    # The operator's colleague ------------------------------------------------------------

    def _follow_up(self, now) -> None:
        """Emergencies are closed with what happened; half the other visits get a call back
        (回访) with a rating; the rest close by themselves after ANXIN_CLOSE_AFTER_H."""
        done = (
            ServiceRequest.objects.filter(
                state=RequestState.COMPLETED,
                state_changed_at__lte=now - timedelta(seconds=self.pace.follow_up),
            )
            .exclude(pk__in=self.called_back)
            .exclude(elder_id__in=self.hands.elder_ids)
            .exclude(assigned_worker_id__in=self.hands.worker_ids)
            .order_by("pk")
        )
        for sr in done:
            self.called_back.add(sr.pk)
            if sr.priority == Priority.EMERGENCY:
                outcome = "resolved_on_site" if self.rng.random() < 0.8 else "ambulance"
                if self._try(
                    sr.reference,
                    services.request_close,
                    request_id=sr.pk,
                    actor=self.operator,
                    outcome=outcome,
                ):
                    self.say(f"close {sr.reference} emergency: {outcome} ({COLLEAGUE})")
            elif self.rng.random() < 0.5:
                rating = self._pick(RATINGS)
                if self._try(
                    sr.reference,
                    feedback_record,
                    request_id=sr.pk,
                    user=self.operator,
                    rating=rating,
                    comment="",
                ):
                    self.say(f"rated {sr.reference} {rating}/5 on the call back")

    def _take_alerts(self, now) -> None:
        """Take each alert after a while; send queued work round once more, then give it up
        (an emergency handed to 120); close the rest with the code that fits."""
        alerts = (
            OperatorAlert.objects.filter(
                resolved_at__isnull=True,
                raised_at__lte=now - timedelta(seconds=self.pace.take_alert),
            )
            .filter(Q(acknowledged_at__isnull=True) | Q(acknowledged_by=self.operator))
            .exclude(kind="emergency_outcome")
            .exclude(
                Q(request__elder_id__in=self.hands.elder_ids)
                | Q(request__assigned_worker_id__in=self.hands.worker_ids)
            )
            .select_related("request")
            .order_by("pk")
        )
        for alert in alerts:
            sr = alert.request
            if alert.acknowledged_at is None and not self._try(
                f"alert {alert.pk}",
                alert_acknowledge,
                alert_id=alert.pk,
                user=self.operator,
            ):
                continue
            if alert.kind == "no_worker" and sr.state == RequestState.ESCALATED:
                self._queued(sr, alert)
            elif alert.kind in ALERT_RESOLUTION:
                self._resolve(alert, ALERT_RESOLUTION[alert.kind])

    def _resolve(self, alert: OperatorAlert, resolution: str) -> None:
        if self._try(
            f"alert {alert.pk}",
            alert_resolve,
            alert_id=alert.pk,
            user=self.operator,
            resolution=resolution,
        ):
            self.say(f"alert {alert.kind} on {alert.request.reference}: {resolution}")

    def _queued(self, sr: ServiceRequest, alert: OperatorAlert) -> None:
        if sr.pk not in self.retried:
            self.retried.add(sr.pk)
            if self._try(
                sr.reference,
                services.request_retry,
                request_id=sr.pk,
                actor=self.operator,
            ):
                self.say(f"retry {sr.reference}: back to matching")
                self._resolve(alert, "sent_back_to_matching")
            return
        emergency = sr.priority == Priority.EMERGENCY
        outcome = "ambulance" if emergency else "no_worker_available"
        note = "120 called" if emergency else "nobody free: the family was told"
        if self._try(
            sr.reference,
            services.request_fail,
            request_id=sr.pk,
            actor=self.operator,
            outcome=outcome,
            note=note,
        ):
            self.say(f"fail  {sr.reference}: {outcome}")


def simulate_run(
    *,
    seconds: float,
    rate_per_min: float | None,
    seed: int,
    say: Callable[[str], None],
) -> None:
    sim = Simulation(rate_per_min=rate_per_min, seed=seed, say=say)
    say(f"simulating {sim.describe()}")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sim.tick()
        time.sleep(1)
