from celery import Celery
from celery.signals import worker_process_init, worker_ready

# DJANGO_SETTINGS_MODULE is required, never defaulted (backend/__init__.py).
app = Celery("anxin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The watchdog for the timers runs in every worker process, where tasks run (it must not need
# beat, whose death it is there to notice): in each child of a prefork pool, or in the worker
# itself for a pool of threads. Never in a prefork pool's parent, which forks its children later.
@worker_process_init.connect
def _watchdog_in_pool_process(**kwargs):
    from backend.core.watchdog import watchdog_start

    watchdog_start()


@worker_ready.connect
def _watchdog_in_threaded_worker(sender, **kwargs):
    from backend.core.watchdog import watchdog_start

    if "prefork" not in type(sender.pool).__module__:
        watchdog_start()
