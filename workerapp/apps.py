from django.apps import AppConfig


class WorkerAppConfig(AppConfig):
    """The worker's mobile web app (护理员端), served at /worker/."""

    name = "workerapp"
    label = "workerapp"
