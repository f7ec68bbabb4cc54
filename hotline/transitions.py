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
}


def call_next_state(state: str, event: str) -> str | None:
    return CALL_TRANSITIONS.get((state, event))


def call_back_next_state(state: str, event: str) -> str | None:
    return CALL_BACK_TRANSITIONS.get((state, event))
