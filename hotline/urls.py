from django.urls import path

from . import webhooks

urlpatterns = [
    path("voice/", webhooks.voice, name="twilio-voice"),
    path("gather/", webhooks.gather, name="twilio-gather"),
    path("queue/", webhooks.queue, name="twilio-queue"),
    path("sms/", webhooks.sms, name="twilio-sms"),
    path("status/", webhooks.status, name="twilio-status"),
]
