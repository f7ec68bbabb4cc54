# The phone's time beside the server's on a visit, and the alert for a check-in that arrives
# after the no-show (the worker app's offline visits, issue 15). Only these fields: the working
# tree held other engineers' model changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0020_complaint_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="client_checked_in_at",
            field=models.DateTimeField(
                blank=True, help_text="The phone's time of the check-in, as it sent it", null=True
            ),
        ),
        migrations.AddField(
            model_name="visit",
            name="client_checked_out_at",
            field=models.DateTimeField(
                blank=True, help_text="The phone's time of the check-out, as it sent it", null=True
            ),
        ),
        migrations.AlterField(
            model_name="operatoralert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("no_worker", "Nobody took the job: the operator queue"),
                    ("non_arrival", "No check-in by the end of the window"),
                    ("missing_check_out", "On site far longer than the service takes"),
                    ("welfare_no_answer", "A welfare check found nobody answering"),
                    ("welfare_needs_help", "A welfare check found the elder needs help"),
                    ("late_arrival", "Nobody on site by the arrival target"),
                    ("emergency_outcome", "An emergency visit ended: record its outcome"),
                    (
                        "callout_unanswered",
                        "No emergency contact took responsibility on the phone: call 120",
                    ),
                    ("visit_denied", "The elder said on the phone that nobody has arrived"),
                    (
                        "caller_waiting",
                        "An emergency by phone: the caller is on the line, waiting for an operator",
                    ),
                    ("late_check_in", "A check-in arrived after the job was treated as a no-show"),
                ],
                max_length=20,
            ),
        ),
    ]
