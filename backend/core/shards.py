"""Sweeps split by district, for a province (docs/capacity.md, "Sweeps split by district").

A sweep runs alone under its advisory lock, so more workers do not make it faster: past the
size where one run no longer fits in its period (`manage.py simulate_province` says where), it
is split. With ANXIN_ALARM_SWEEP_SHARDS=N, beat sends N sweeps each period, sweep k acting only
on the districts whose id % N == k, under a lock of its own and recording its own watchdog
timer, so N run at once on the lane's threads. 1 (the default) is the one sweep as before.
ANXIN_DEVICE_APPLY_SHARDS splits the device lane's applying of heartbeats the same way, by
device (it holds no lock: a run goes through its devices one after another).

Settings import this module: nothing here imports Django.
"""

from collections.abc import Iterator


def shard_name(name: str, shard: int, shards: int) -> str:
    """The name of one shard's beat entry or watchdog timer; the name itself when unsplit."""
    return name if shards == 1 else f"{name}:{shard}/{shards}"


def shard_lock(lock: int, shard: int, shards: int) -> int:
    """One shard's advisory lock key: the sweep's own when unsplit, else the key with the
    shard in a byte of its own (the keys are 7 bytes, so each stays a positive bigint and
    never another sweep's)."""
    return lock if shards == 1 else (lock << 8) | shard


def shards_of(shards: int) -> Iterator[tuple[int, dict[str, int]]]:
    """(shard, the task's keyword arguments) for each shard of a sweep split `shards` ways."""
    if shards < 1 or shards > 255:
        raise ValueError(f"a sweep is split 1 to 255 ways, not {shards}")
    if shards == 1:
        yield 0, {}
        return
    for shard in range(shards):
        yield shard, {"shard": shard, "shards": shards}
