"""Two districts with one of everything, for the access matrix: tenant A is the callers' own,
tenant B another district's, 100 km away so nothing of B can serve A."""

import uuid
from dataclasses import dataclass, field
from datetime import date

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone
from rest_framework.test import APIClient

from alarms.devices import device_messages_apply
from alarms.models import DeviceProblem
from alarms.services import MessageIn, device_message_take
from backend.accounts.models import Role, User
from dispatch import services
from dispatch.follow_up import feedback_record
from dispatch.models import JobOffer, OperatorAlert, ServiceType, Visit
from elders.models import AlarmDevice
from hotline import services as hotline
from providers.models import ProviderChange
from providers.services import appeal_file, sanction_impose
from settlement.services import statement_issue
from tests import factories as f

AT_DOOR = 10  # metres from the home


@dataclass
class Tenant:
    users: dict[str, User]
    ids: dict[str, int] = field(default_factory=dict)
    worker_id: int = 0


def _request(elder, code: str, caller: User | None = None):
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code=code),
        channel="operator",
        caller=caller,
    )
    services.request_match(request_id=sr.pk)
    return sr


def build_tenant(name: str, east_m: float) -> Tenant:
    home = f.offset(f.HOME, east_m=east_m)
    box = (home.x - 0.15, home.y - 0.1, home.x + 0.15, home.y + 0.1)
    district = f.DistrictFactory(
        code=f"22010{name}000000"[:12],
        name=f"district {name}",
        boundary=MultiPolygon(Polygon.from_bbox(box), srid=4326),
    )
    users = {
        role: f.UserFactory(role=role, district=district, username=f"{role}-{name}")
        for role in (Role.OPERATOR, Role.SUPERVISOR, Role.DISTRICT_ADMIN)
    }
    elder = f.ElderFactory(district=district, location=home)
    users[Role.FAMILY] = f.UserFactory(role=Role.FAMILY, username=f"family-{name}")
    f.ContactFactory(elder=elder, priority=1, user=users[Role.FAMILY])
    provider = f.ProviderFactory(district=district, base_location=home, service_radius_m=5000)
    users[Role.PROVIDER_ADMIN] = f.UserFactory(role=Role.PROVIDER_ADMIN, username=f"padmin-{name}")
    provider.admins.add(users[Role.PROVIDER_ADMIN])
    worker = f.WorkerFactory(
        provider=provider,
        capacity=3,
        user=f.UserFactory(role=Role.WORKER, username=f"worker-{name}"),
    )
    f.place_worker(worker, f.offset(f.HOME, east_m=east_m + 30))
    users[Role.WORKER] = worker.user
    tenant = Tenant(users=users, worker_id=worker.pk)

    # A finished visit rated 1 of 5: a visit, and a complaint.
    done = _request(elder, "meal")
    services.offer_accept(offer_id=JobOffer.objects.get(request=done).pk, user=worker.user)
    services.visit_check_in(
        request_id=done.pk, user=worker.user, point=f.offset(f.HOME, east_m=east_m + AT_DOOR)
    )
    services.visit_check_out(
        request_id=done.pk, user=worker.user, point=f.offset(f.HOME, east_m=east_m + AT_DOOR)
    )
    feedback = feedback_record(
        request_id=done.pk, user=users[Role.FAMILY], rating=1, comment="late and rude"
    )
    # The worker's job now, and an offer waiting for them.
    job = _request(elder, "meal")
    services.offer_accept(offer_id=JobOffer.objects.get(request=job).pk, user=worker.user)
    offered = _request(elder, "cleaning")
    # Nobody bathes: the operator queue, with its alert.
    queued = _request(elder, "bathing")
    sanction = sanction_impose(
        provider_id=provider.pk,
        kind="warning",
        reason="late twice",
        actor=users[Role.DISTRICT_ADMIN],
    )
    appeal = appeal_file(sanction=sanction, actor=users[Role.PROVIDER_ADMIN], grounds="traffic")
    # A change its admin asked for, waiting for the district.
    admin_client = APIClient()
    admin_client.force_authenticate(users[Role.PROVIDER_ADMIN])
    asked = admin_client.patch(
        f"/api/v1/providers/{provider.pk}/", {"service_radius_m": 4000}, format="json"
    )
    assert asked.status_code < 300, asked.content
    # A caller waiting on the hotline, and one who left a message for a call-back.
    calls = {}
    for kind in ("waiting", "left"):
        call = hotline.call_arrive(
            call_sid=f"CA{name}{kind}",
            from_number="+8613900000000",
            to_number="+8643112349",
            district_id=district.pk,
        )
        calls[kind] = hotline.call_enqueue(call_id=call.pk)
    hotline.call_voicemail(call_sid=calls["left"].call_sid)
    call_back = hotline.call_message_record(
        call_sid=calls["left"].call_sid,
        recording_sid=f"RE{name}",
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        duration_s=10,
    )
    tenant.ids = {
        "calls": calls["waiting"].pk,
        "call_backs": call_back.pk,
        "elders": elder.pk,
        "providers": provider.pk,
        "workers": worker.pk,
        "requests": job.pk,
        "queued": queued.pk,
        "done": done.pk,
        "offers": JobOffer.objects.get(request=offered, worker=worker).pk,
        "alerts": OperatorAlert.objects.get(request=queued).pk,
        "complaints": feedback.complaint.pk,
        "sanctions": sanction.pk,
        "appeals": appeal.pk,
        "visits": Visit.objects.get(request=done).pk,
        # An account for the unlock and deactivate endpoints to act on (not one of the callers).
        "users": f.UserFactory(role=Role.OPERATOR, district=district).pk,
        "provider_changes": ProviderChange.objects.filter(provider=provider).latest("pk").pk,
        "devices": AlarmDevice.objects.create(elder=elder, serial=f"BTN-{name}", kind="button").pk,
    }
    tenant.ids["alarms"] = _alarm(tenant.ids["devices"]).pk
    tenant.ids["device_problems"] = maintenance_task(tenant.ids["devices"]).pk
    # An issued statement (of a month long over: no visits on it) for the statement endpoints.
    tenant.ids["statements"] = statement_issue(
        actor=users[Role.DISTRICT_ADMIN], provider=provider, month=date(2025, 1, 1)
    ).pk
    return tenant


def _alarm(device_id: int):
    """An open SOS alarm from the device, taken in as a signed message would be."""
    now = timezone.now()
    sos = MessageIn(event_id=uuid.uuid4(), kind="sos", at=now, location=None, battery=None)
    return device_message_take(device_id=device_id, message=sos, received_at=now).alarm


def maintenance_task(device_id: int):
    """A low battery reported by the device, applied on the device lane: an open task."""
    now = timezone.now()
    low = MessageIn(event_id=uuid.uuid4(), kind="low_battery", at=now, location=None, battery=8)
    device_message_take(device_id=device_id, message=low, received_at=now)
    device_messages_apply(device_id=device_id)
    return DeviceProblem.objects.get(device_id=device_id, kind="low_battery", state="open")
