"""The service catalogue every district starts with; loaded by a data migration."""

from datetime import timedelta

# code, English name, Chinese name, default priority, lead time (min), default duration (min),
# certificates a worker must hold, unexpired, to be offered it, and whether the whole job goes to
# a provider that assigns its own staff (shopping and errands: community centres run them)
CATALOGUE = [
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


def catalogue_load(service_type_model) -> None:
    """Create or update the catalogue rows; takes the model so a migration can pass its own."""
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
            },
        )
