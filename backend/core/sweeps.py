"""How every sweep runs its steps: each step names what it counts, finds the ids due, and acts
on one id (True if it acted). A step whose scan fails, or an item whose action fails, is logged
and counted, and the rest go on. Used by dispatch's sweeps and the alarms' and devices' ones."""

from collections.abc import Callable, Iterable

import structlog

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
