"""Play a district live: needs come in, workers move, answer offers, check in and out.

Everything goes through the same services as the API, so every step writes its events and
pushes them to operators' sockets: open the console or a WebSocket client and watch.
"""

import random
import time
from collections.abc import Callable
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.core.errors import DomainError
from elders.models import Elder
from providers.models import ShiftState, WorkerPosition

from . import services
from .models import JobOffer, OfferState, RequestState, ServiceRequest, ServiceType
from .tasks import sweep_deadlines

ROUTINE_CODES = ["meal", "cleaning", "welfare_check", "companionship", "shopping", "errands"]


class Simulation:
    def __init__(self, *, rate_per_min: float, seed: int, say: Callable[[str], None]):
        self.rng = random.Random(seed)
        self.rate = rate_per_min
        self.say = say
        self.operator = User.objects.filter(role=Role.OPERATOR).order_by("pk").first()
        self.elder_ids = list(Elder.objects.values_list("pk", flat=True))
        self.types = {t.code: t for t in ServiceType.objects.all()}
        if not (self.operator and self.elder_ids):
            raise RuntimeError("no demo data: run `manage.py seed_demo` first")

    def tick(self) -> None:
        self._keep_positions_fresh()
        if self.rng.random() < self.rate / 60:
            self._new_need()
        self._answer_offers()
        self._name_workers()
        self._do_visits()
        self._record_emergency_outcomes()
        sweep_deadlines()

    def _keep_positions_fresh(self) -> None:
        WorkerPosition.objects.filter(
            worker__shift_state=ShiftState.ON,
            recorded_at__lt=timezone.now() - timedelta(minutes=5),
        ).update(recorded_at=timezone.now())

    def _new_need(self) -> None:
        code = "emergency" if self.rng.random() < 0.1 else self.rng.choice(ROUTINE_CODES)
        elder = Elder.objects.get(pk=self.rng.choice(self.elder_ids))
        sr = services.service_request_create(
            elder=elder,
            service_type=self.types[code],
            channel="operator",
            caller=self.operator,
            notes="simulated",
        )
        self.say(f"new   {sr.reference} {code:<14} for {elder.full_name}")

    def _answer_offers(self) -> None:
        waiting = JobOffer.objects.filter(
            state=OfferState.PENDING, sent_at__lte=timezone.now() - timedelta(seconds=3)
        ).select_related("worker__user", "provider")
        for offer in waiting:
            roll = self.rng.random()
            who = offer.worker.user if offer.worker else offer.provider.admins.first()
            name = offer.worker.full_name if offer.worker else offer.provider.name
            if who is None:
                continue
            try:
                if roll < 0.6:
                    services.offer_accept(offer_id=offer.pk, user=who)
                    self.say(f"offer {offer.pk} accepted by {name}")
                elif roll < 0.75:
                    services.offer_decline(offer_id=offer.pk, user=who, reason="busy")
                    self.say(f"offer {offer.pk} declined by {name}")
            except DomainError as refused:
                self.say(f"offer {offer.pk}: {refused.detail}")

    def _name_workers(self) -> None:
        """Providers that took whole jobs name one of their workers with the skill."""
        for sr in ServiceRequest.objects.filter(
            state=RequestState.ASSIGNED,
            assigned_worker__isnull=True,
            assigned_provider__isnull=False,
        ).select_related("service_type", "assigned_provider"):
            admin = sr.assigned_provider.admins.first()
            worker = sr.assigned_provider.workers.filter(
                skills__contains=[sr.service_type.code], active_jobs__lt=F("capacity")
            ).first()
            if admin is None or worker is None:
                continue
            try:
                services.request_assign_worker(request_id=sr.pk, user=admin, worker_id=worker.pk)
                self.say(f"named {sr.reference} -> {worker.full_name}")
            except DomainError as refused:
                self.say(f"naming {sr.reference}: {refused.detail}")

    def _do_visits(self) -> None:
        now = timezone.now()
        for sr in ServiceRequest.objects.filter(
            state=RequestState.ASSIGNED,
            state_changed_at__lte=now - timedelta(seconds=5),
            assigned_worker__isnull=False,
        ).select_related("assigned_worker__user", "elder"):
            WorkerPosition.objects.filter(worker=sr.assigned_worker).update(
                point=sr.elder.location, recorded_at=now
            )
            services.visit_check_in(
                request_id=sr.pk, user=sr.assigned_worker.user, point=sr.elder.location
            )
            self.say(f"in    {sr.reference} {sr.assigned_worker.full_name} at the door")
        for sr in ServiceRequest.objects.filter(
            state=RequestState.ON_SITE, state_changed_at__lte=now - timedelta(seconds=10)
        ).select_related("assigned_worker__user", "elder", "service_type"):
            outcome = ""
            if sr.service_type.code == "welfare_check":
                outcome = "seen_well" if self.rng.random() < 0.9 else "no_answer"
            services.visit_check_out(
                request_id=sr.pk,
                user=sr.assigned_worker.user,
                point=sr.elder.location,
                welfare_outcome=outcome,
            )
            self.say(f"out   {sr.reference} done {outcome}")

    def _record_emergency_outcomes(self) -> None:
        """The operator closes finished emergencies with what happened, answering for it."""
        for sr in ServiceRequest.objects.filter(
            state=RequestState.COMPLETED,
            priority="emergency",
            state_changed_at__lte=timezone.now() - timedelta(seconds=5),
        ):
            outcome = "resolved_on_site" if self.rng.random() < 0.8 else "ambulance"
            services.request_close(request_id=sr.pk, actor=self.operator, outcome=outcome)
            self.say(f"close {sr.reference} emergency: {outcome} ({self.operator.username})")


def simulate_run(
    *, seconds: float, rate_per_min: float, seed: int, say: Callable[[str], None]
) -> None:
    sim = Simulation(rate_per_min=rate_per_min, seed=seed, say=say)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sim.tick()
        time.sleep(1)
