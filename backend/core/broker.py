"""The Celery broker's transport, and the socket timeouts in the names that transport takes.

The broker is Redis (REDIS_URL's REDIS_DB_CELERY, or a Redis of its own), Redis behind Sentinel,
or RabbitMQ (docs/production.md, "The broker"). kombu hands its transport options to the client
library untouched, and the two libraries name their timeouts differently: redis-py takes
`socket_connect_timeout` and `socket_timeout`, py-amqp `connect_timeout`, `read_timeout` and
`write_timeout`, and each silently ignores the other's. So a timeout written in the wrong names
leaves a publish to a broker that hangs waiting forever. The settings set them from here, and
so does /healthz (shorter).

Settings import this module: nothing here reads settings when it is imported.
"""

from typing import Any

from redis.backoff import NoBackoff
from redis.retry import Retry

REDIS = "redis"
SENTINEL = "sentinel"
AMQP = "amqp"

# The URL schemes kombu takes for each (kombu.transport.TRANSPORT_ALIASES); any other transport
# is one the platform was never run on (its acknowledgements, countdowns and broadcasts).
SCHEMES = {
    "redis": REDIS,
    "rediss": REDIS,
    "redis+socket": REDIS,
    "sentinel": SENTINEL,
    "amqp": AMQP,
    "amqps": AMQP,
    "pyamqp": AMQP,
}


def broker_transport(url: str) -> str:
    """REDIS, SENTINEL or AMQP, from the scheme of a broker URL (its first address, for a list
    of them separated by `;`). ValueError for any other scheme."""
    scheme = url.partition("://")[0].strip().lower()
    if scheme not in SCHEMES:
        raise ValueError(
            f"the broker URL's scheme {scheme!r} is not one of {', '.join(sorted(SCHEMES))}"
        )
    return SCHEMES[scheme]


def broker_timeouts(
    transport: str, options: dict[str, Any], *, connect_s: float, read_s: float
) -> dict[str, Any]:
    """`options` with the connect and read/write timeouts set in `transport`'s own names.

    For Sentinel, the Sentinels' own connections get them too, and no retries: redis-py's
    client retries a Sentinel that does not answer ten times, with backoff, before it asks the
    next one, and the Sentinels are asked on every new connection to the primary. One dead
    Sentinel listed first cost a publish 7 s (tests/deploy/test_broker_settings.py), every
    Sentinel down a few seconds each. Asking the next Sentinel is the retry.
    """
    if transport == AMQP:
        return {
            **options,
            "connect_timeout": connect_s,
            "read_timeout": read_s,
            "write_timeout": read_s,
        }
    timeouts = {"socket_connect_timeout": connect_s, "socket_timeout": read_s}
    timed = {**options, **timeouts}
    if transport == SENTINEL:
        timed["sentinel_kwargs"] = {
            **options.get("sentinel_kwargs", {}),
            **timeouts,
            "retry": Retry(NoBackoff(), 0),
        }
    return timed
