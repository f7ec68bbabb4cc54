"""The service catalogue every district starts with; loaded by a data migration."""

from datetime import timedelta
from typing import Any

# code, English name, Chinese name, default priority, lead time (min), default duration (min),
# certificates a worker must hold, unexpired, to be offered it, and whether the whole job goes to
# a provider that assigns its own staff (shopping and errands: community centres run them)
# code, English name, Chinese name, default priority, lead time (min), duration (min),
# required certificates, and optionally the dispatch mode.
CATALOGUE: list[tuple[Any, ...]] = [
    ("meal", "Meal", "助餐", "routine", 45, 30, ["health"]),
    ("bathing", "Bathing", "助浴", "routine", 60, 60, ["care_worker", "health"]),
    ("cleaning", "Cleaning", "助洁", "routine", 60, 120, []),
    ("medical", "Medical", "助医", "urgent", 30, 60, ["nurse"]),
    ("escort", "Escort", "助行", "routine", 60, 120, []),
    ("emergency", "Emergency", "助急", "emergency", 0, 60, ["first_aid"]),
    ("companionship", "Companionship", "精神慰藉", "routine", 60, 60, []),
    ("shopping", "Shopping", "代购", "routine", 60, 60, [], "provider"),
    ("errands", "Errands", "代办", "routine", 60, 60, [], "provider"),
    ("welfare_check", "Welfare check", "巡访", "routine", 60, 30, []),
]


# Service-level targets and the escalation ladder, by the service's default priority. Each
# round of offers waits `offer_timeout`; after `offer_rounds` rounds (or sooner, when nobody
# is left or the accept target passes) the work goes to the operator queue.
#   emergency: 3 offers at once, 2 rounds of 30 s, the queue within about a minute, accepted
#              within 2 minutes and on site within 15; the family is called.
#   urgent:    2 at once, 3 rounds of 90 s; accepted within 10 minutes.
#   routine:   1 at a time, 5 rounds of 5 minutes; accepted within 30 minutes, on site
#              within the requested window.
LADDERS: dict[str, dict[str, Any]] = {
    "emergency": {
        "accept_within": timedelta(minutes=2),
        "arrive_within": timedelta(minutes=15),
        "offer_fanout": 3,
        "offer_timeout": timedelta(seconds=30),
        "offer_rounds": 2,
        "alert_ack_within": timedelta(seconds=30),
        "notify_contacts": True,
    },
    "urgent": {
        "accept_within": timedelta(minutes=10),
        "arrive_within": None,
        "offer_fanout": 2,
        "offer_timeout": timedelta(seconds=90),
        "offer_rounds": 3,
        "alert_ack_within": timedelta(minutes=2),
        "notify_contacts": False,
    },
    "routine": {
        "accept_within": timedelta(minutes=30),
        "arrive_within": None,
        "offer_fanout": 1,
        "offer_timeout": timedelta(minutes=5),
        "offer_rounds": 5,
        "alert_ack_within": timedelta(minutes=5),
        "notify_contacts": False,
    },
}


def catalogue_load(service_type_model, *, with_ladder: bool = True) -> None:
    """Create or update the catalogue rows; takes the model so a migration can pass its own
    (the first migration's model has no ladder yet)."""
    for code, name, name_zh, priority, lead, duration, certificates, *mode in CATALOGUE:
        service_type_model.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_zh": name_zh,
                "default_priority": priority,
                "lead_time": timedelta(minutes=lead),
                "default_duration": timedelta(minutes=duration),
                "required_certificates": certificates,
                "dispatch_mode": mode[0] if mode else "workers",
                **(LADDERS[priority] if with_ladder else {}),
            },
        )
