"""Ranking eligible workers: a weighted sum of normalised terms, each term kept so an operator
can see why a worker ranked where it did.

- distance:   1 at the door, 0 at the matching radius
- continuity: 1 if the worker completed a visit to this elder before (the same caregiver)
- rating:     the worker's rating from 1-5 mapped to 0-1; 0.5 when unrated
- fairness:   1 for the worker with the fewest visits today among the candidates, 0 for the most

Weights come from `ANXIN["RANK_WEIGHTS"]`.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from providers.models import Worker
from providers.selectors import Candidate

from .models import ElderPreference, Visit


@dataclass
class Ranked:
    candidate: Candidate
    terms: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    def as_dict(self) -> dict:
        weights = settings.ANXIN["RANK_WEIGHTS"]
        return {
            "worker": self.candidate.worker_id,
            "provider": self.candidate.provider_id,
            "distance_m": round(self.candidate.distance_m, 1),
            "score": round(self.score, 4),
            "terms": {
                k: {
                    "value": round(v, 4),
                    "weight": weights[k],
                    "contribution": round(v * weights[k], 4),
                }
                for k, v in self.terms.items()
            },
        }


def preferences_apply(elder_id: int, candidates: list[Candidate]) -> list[Candidate]:
    """Drop workers the elder refused, and workers of the other gender if they asked."""
    pref = ElderPreference.objects.filter(elder_id=elder_id).first()
    if pref is None:
        return candidates
    refused = set(pref.refused_workers.values_list("pk", flat=True))
    genders = dict(
        Worker.objects.filter(pk__in=[c.worker_id for c in candidates]).values_list("pk", "gender")
    )
    return [
        c
        for c in candidates
        if c.worker_id not in refused
        and (not pref.preferred_gender or genders.get(c.worker_id) == pref.preferred_gender)
    ]


def rank(*, elder_id: int, candidates: list[Candidate], radius_m: float) -> list[Ranked]:
    if not candidates:
        return []
    weights = settings.ANXIN["RANK_WEIGHTS"]
    ids = [c.worker_id for c in candidates]
    served = set(
        Visit.objects.filter(
            elder_id=elder_id, worker_id__in=ids, checked_out_at__isnull=False
        ).values_list("worker_id", flat=True)
    )
    ratings = dict(Worker.objects.filter(pk__in=ids).values_list("pk", "rating"))
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = dict(
        Visit.objects.filter(worker_id__in=ids, checked_in_at__gte=midnight)
        .values("worker_id")
        .annotate(n=Count("pk"))
        .values_list("worker_id", "n")
    )
    most, least = max(today.values(), default=0), min(today.get(i, 0) for i in ids)
    ranked = []
    for c in candidates:
        rating = ratings.get(c.worker_id)
        load = today.get(c.worker_id, 0)
        terms = {
            "distance": max(0.0, 1 - c.distance_m / radius_m),
            "continuity": 1.0 if c.worker_id in served else 0.0,
            "rating": 0.5 if rating is None else (float(rating) - 1) / 4,
            "fairness": 1.0 if most == least else (most - load) / (most - least),
        }
        score = sum(weights[k] * v for k, v in terms.items())
        ranked.append(Ranked(candidate=c, terms=terms, score=score))
    ranked.sort(key=lambda r: (-r.score, r.candidate.distance_m))
    return ranked
