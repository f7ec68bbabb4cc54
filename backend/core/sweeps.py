"""How every sweep runs its steps: each step names what it counts, finds the ids due, and acts
on one id (True if it acted). A step whose scan fails, or an item whose action fails, is logged
and counted, and the rest go on. Used by dispatch's sweeps and the alarms' and devices' ones."""

import contextlib
from collections.abc import Callable, Iterable, Iterator

import structlog
from django.db import connection
from django.db.models import F, IntegerField, QuerySet
from django.db.models.functions import Mod

log = structlog.get_logger(__name__)

Step = tuple[str, Callable[[], list[int]], Callable[[int], bool]]


def steps_run(steps: Iterable[Step]) -> dict[str, int]:
    """{step: how many items it acted on, ..., "items_failed": how many failed}."""
    done: dict[str, int] = {}
    failed = 0
    for name, due, act in steps:
        done[name] = 0
        try:
            ids = due()
        except Exception:  # a step whose scan fails must not keep the later ones from running
            failed += 1
            log.exception("sweep_step_failed", step=name)
            continue
        for pk in ids:
            try:
                done[name] += int(act(pk))
            except Exception:
                failed += 1
                log.exception("sweep_item_failed", step=name, id=pk)
    done["items_failed"] = failed
    return done


@contextlib.contextmanager
def alone(lock: int) -> Iterator[bool]:
    """Hold the PostgreSQL advisory lock `lock` for the block, if nobody else does: yields True
    when this run holds it (and releases it after), False when another run of the same sweep is
    going on (the caller then does nothing)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])


def in_shard(qs: QuerySet, column: str, shard: int, shards: int) -> QuerySet:
    """The rows of one shard of a sweep split `shards` ways (backend/core/shards.py): those
    whose `column` % shards == shard (a device's id: the heartbeats' applying groups over all
    its unapplied rows anyway). Unsplit, every row."""
    if shards == 1:
        return qs
    return qs.alias(_shard=Mod(F(column), shards, output_field=IntegerField())).filter(_shard=shard)


def shard_districts(shard: int, shards: int) -> list[int]:
    """The ids of the districts of one shard: district id % shards == shard."""
    from backend.accounts.models import District

    return [pk for pk in District.objects.values_list("pk", flat=True) if pk % shards == shard]


def in_district_shard(
    qs: QuerySet, shard: int, shards: int, districts: list[int] | None = None
) -> QuerySet:
    """The rows of the districts of one shard (`districts`, when the caller has read them once
    for all its queries), named by their ids: `district_id IN (...)` keeps the deadline's index
    walking in order, where a modulo would have the planner read every open row and sort them.
    Unsplit, every row."""
    if shards == 1:
        return qs
    mine = shard_districts(shard, shards) if districts is None else districts
    return qs.filter(district_id__in=mine)
