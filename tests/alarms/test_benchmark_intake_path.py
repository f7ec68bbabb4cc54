"""What the benchmark found on the alarm's intake path (docs/alarms.md, "Measured"), held: an
alarm reads of its elder only the district, locks the device's row and not the elder's, and
is taken in a fixed number of statements."""

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms.models import Alarm
from tests.alarms.conftest import message, send


def test_an_alarm_reads_of_its_elder_only_the_district_in_ten_statements(device, client):
    with CaptureQueriesContext(connection) as queries:
        answer = send(client, device, message("sos"))

    assert answer.status_code == 202, answer.content
    statements = [q["sql"] for q in queries.captured_queries]
    # the device looked up, the savepoint (BEGIN in production), the lock, the repeat check,
    # the last heartbeat, the open alarm, the alarm, its audit row, the message, the release
    assert len(statements) == 10, "\n".join(statements)
    elder_reads = [sql for sql in statements if '"elders_elder"' in sql]
    assert len(elder_reads) == 1 and '"elders_elder"."phone"' not in elder_reads[0]
    assert 'FOR NO KEY UPDATE OF "elders_alarmdevice"' in elder_reads[0]


@pytest.mark.django_db(transaction=True)
def test_an_alarm_is_taken_while_an_edit_of_its_elder_is_under_way(device, client, elder):
    """An edit of the elder's file does not hold up the alarm: only the device's row is the
    alarm path's."""
    holder = psycopg.connect(
        **{
            k: v
            for k, v in connection.get_connection_params().items()
            if k in ("dbname", "user", "password", "host", "port")
        }
    )
    try:
        # An edit of the file not yet committed (it changes no key: the alarm's reference to
        # the elder, a key share, does not wait for it).
        holder.execute("UPDATE elders_elder SET address = address || '' WHERE id = %s", [elder.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            answer = send(client, device, message("sos"))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
    finally:
        holder.rollback()
        holder.close()

    assert answer.status_code == 202, answer.content
    assert Alarm.objects.get().elder_id == elder.pk
