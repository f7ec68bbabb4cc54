"""The life of a hotline call and of a call-back task: (from state, event) -> to state."""

from .models import CallBackState, CallState

C = CallState
CALL_TRANSITIONS: dict[tuple[str, str], str] = {
    (C.RINGING, "menu"): C.MENU,
    (C.RINGING, "enqueue"): C.QUEUED,
    (C.MENU, "enqueue"): C.QUEUED,
    (C.MENU, "serve"): C.SERVED,
    (C.QUEUED, "take"): C.CONNECTING,
    (C.CONNECTING, "connect"): C.CONNECTED,
    (C.CONNECTING, "requeue"): C.QUEUED,  # the operator's phone did not answer
    (C.CONNECTED, "requeue"): C.QUEUED,  # the operator's phone dropped the caller
    # The sweep took a silent caller for gone, but Twilio asks the wait URL for them again:
    # still holding (the database or the web process was down), back in the operators' list.
    (C.ENDED, "resume"): C.QUEUED,
    (C.QUEUED, "voicemail"): C.VOICEMAIL,
    # The caller pressed 9 but the menu could not write it then: the emergency is recorded
    # wherever the call is by now (queued as the caller was told, or already ended).
    (C.RINGING, "emergency"): C.QUEUED,
    (C.MENU, "emergency"): C.QUEUED,
    **{(state, "emergency"): state for state in (C.QUEUED, C.CONNECTING, C.CONNECTED, C.ENDED)},
    # A message left (its recording), also when Twilio reports it after the call's end.
    (C.QUEUED, "message"): C.VOICEMAIL,
    (C.VOICEMAIL, "message"): C.VOICEMAIL,
    (C.ENDED, "message"): C.ENDED,
    **{(state, "end"): C.ENDED for state in C.values if state != C.ENDED},
}

B = CallBackState
CALL_BACK_TRANSITIONS: dict[tuple[str, str], str] = {
    (B.OPEN, "take"): B.TAKEN,
    (B.OPEN, "close"): B.CLOSED,  # closing an untaken one takes it too
    (B.TAKEN, "close"): B.CLOSED,
    # The call's caller turned out to be still waiting in the queue (not gone): nobody calls
    # them back; if the call later ends unanswered, the task opens again.
    (B.OPEN, "cancel"): B.CANCELLED,
    (B.TAKEN, "cancel"): B.CANCELLED,
    (B.CANCELLED, "reopen"): B.OPEN,
}


def call_next_state(state: str, event: str) -> str | None:
    return CALL_TRANSITIONS.get((state, event))


def call_back_next_state(state: str, event: str) -> str | None:
    return CALL_BACK_TRANSITIONS.get((state, event))
