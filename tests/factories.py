"""Factories for tests. Coordinates are around Changchun's Chaoyang district (WGS-84)."""

from datetime import timedelta

import factory
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from backend.accounts.models import District, Role, User
from elders.models import Elder, EmergencyContact
from providers.models import (
    Certificate,
    CertificateKind,
    Provider,
    ProviderService,
    ShiftState,
    Worker,
    WorkerPosition,
)

HOME = (125.3245, 43.8868)
ALL_SERVICES = [
    "meal",
    "bathing",
    "cleaning",
    "medical",
    "escort",
    "emergency",
    "companionship",
    "shopping",
    "errands",
    "welfare_check",
]


def point(lng: float, lat: float) -> Point:
    return Point(lng, lat, srid=4326)


def offset(base: tuple[float, float], east_m: float = 0, north_m: float = 0) -> Point:
    """A point `east_m` and `north_m` metres from `base` (small distances, local flat earth)."""
    import math

    lng, lat = base
    d_lat = north_m / 111_320.0
    d_lng = east_m / (111_320.0 * math.cos(math.radians(lat)))
    return point(lng + d_lng, lat + d_lat)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"2201{n:08d}")
    name = factory.Sequence(lambda n: f"Test district {n}")
    boundary = factory.LazyFunction(
        lambda: MultiPolygon(Polygon.from_bbox((125.2, 43.8, 125.45, 43.95)), srid=4326)
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.OPERATOR
    district = factory.LazyAttribute(
        lambda o: (
            DistrictFactory() if o.role in ("operator", "supervisor", "district_admin") else None
        )
    )
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ElderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Elder

    district = factory.SubFactory(DistrictFactory)
    full_name = factory.Sequence(lambda n: f"王{n}")
    gender = "female"
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    address = "长春市朝阳区红旗街 1 号"
    location = factory.LazyFunction(lambda: point(*HOME))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmergencyContact

    elder = factory.SubFactory(ElderFactory)
    priority = 1
    name = "李明"
    relationship = "son"
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")


class ProviderFactory(factory.django.DjangoModelFactory):
    """Active, based at HOME, serving 20 km around it, offering every catalogue service."""

    class Meta:
        model = Provider
        skip_postgeneration_save = True

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"Provider {n}")
    base_location = factory.LazyFunction(lambda: point(*HOME))
    service_radius_m = 20_000

    @factory.post_generation
    def services(obj, create, extracted, **kwargs):
        if not create:
            return
        codes = extracted if extracted is not None else ALL_SERVICES
        ProviderService.objects.bulk_create(
            ProviderService(provider=obj, service_code=code, price="30.00", unit="visit")
            for code in codes
        )


class WorkerFactory(factory.django.DjangoModelFactory):
    """On shift, with meal, emergency and cleaning skills and every certificate, valid a year."""

    class Meta:
        model = Worker
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role=Role.WORKER)
    provider = factory.SubFactory(ProviderFactory)
    full_name = factory.Sequence(lambda n: f"张{n}")
    phone = factory.Sequence(lambda n: f"+86137{n:08d}")
    skills = factory.LazyFunction(lambda: ["meal", "emergency", "cleaning"])
    shift_state = ShiftState.ON
    capacity = 1

    @factory.post_generation
    def certificates(obj, create, extracted, **kwargs):
        if not create:
            return
        kinds = extracted if extracted is not None else [k.value for k in CertificateKind]
        expires = timezone.localdate() + timedelta(days=365)
        Certificate.objects.bulk_create(
            Certificate(worker=obj, kind=kind, number=f"C-{obj.pk}-{kind}", expires_on=expires)
            for kind in kinds
        )


def place_worker(worker: Worker, where: Point) -> WorkerPosition:
    from providers.services import positions_sync

    position, _ = WorkerPosition.objects.update_or_create(
        worker=worker, defaults={"point": where, "recorded_at": timezone.now()}
    )
    positions_sync(worker_ids=[worker.pk])
    return position


def totp_device(user: User):
    """A confirmed TOTP device (the second factor staff need to sign in)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def totp_code(device, *, steps_ahead: int = 0) -> str:
    """The code the device's app shows now (or `steps_ahead` 30 s steps later)."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"
