from django.urls import path

from . import alarm_call_back_hooks, webhooks

urlpatterns = [
    path("voice/", webhooks.voice, name="twilio-voice"),
    path("gather/", webhooks.gather, name="twilio-gather"),
    path("queue/", webhooks.queue, name="twilio-queue"),
    path("sms/", webhooks.sms, name="twilio-sms"),
    path("status/", webhooks.status, name="twilio-status"),
    path("call-back/", alarm_call_back_hooks.call_back, name="twilio-call-back"),
]
