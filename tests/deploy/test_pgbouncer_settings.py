"""DATABASE_PGBOUNCER: connections through PgBouncer in transaction mode keep nothing on a server
connection beyond one transaction (docs/production.md, PgBouncer)."""

import json

from tests.test_production_settings import PRODUCTION_ENV, python

SHOW = (
    "import json; from backend.settings import production as s; d = s.DATABASES['default']; "
    "print(json.dumps({'options': d['OPTIONS'], "
    "'no_cursors': d.get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
)


def database_settings(**env: str) -> dict:
    result = python(SHOW, env={**PRODUCTION_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_through_pgbouncer_no_prepared_statements_no_server_cursors_no_startup_options():
    settings = database_settings(DATABASE_PGBOUNCER="1")

    assert "prepare_threshold" in settings["options"]
    assert settings["options"]["prepare_threshold"] is None
    assert settings["no_cursors"] is True
    # PgBouncer refuses startup parameters it does not track: the planner settings go on the role.
    assert "options" not in settings["options"]
    # Django's own pool stays: it pools connections to PgBouncer.
    assert settings["options"]["pool"]["max_size"] == 10


def test_straight_to_postgresql_keeps_prepared_statements_and_planner_options():
    settings = database_settings()

    assert "prepare_threshold" not in settings["options"]
    assert settings["no_cursors"] is False
    assert "jit=off" in settings["options"]["options"]


def test_the_pgbouncer_settings_connect_and_run_queries_past_the_prepare_threshold(
    transactional_db,
):
    """psycopg takes prepare_threshold=None (never prepare): the same query ten times (past the
    default threshold of 5) over a connection made with these options prepares nothing."""
    code = (
        "import django; django.setup(); from django.db import connection; "
        "[connection.cursor().execute('SELECT 1 WHERE 1 = %s', [1]) for _ in range(10)]; "
        "c = connection.cursor(); c.execute('SELECT count(*) FROM pg_prepared_statements'); "
        "print(c.fetchone()[0], connection.connection.prepare_threshold)"
    )
    from django.db import connection

    result = python(
        code,
        env={
            **PRODUCTION_ENV,
            "DATABASE_PGBOUNCER": "1",
            "DATABASE_POOL": "false",
            "DATABASE_URL": _url(connection.settings_dict),
        },
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "None"]


def _url(db: dict) -> str:
    return (
        f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
