"""The operator calls the elder back from an alarm (docs/alarms.md, "Calling back"): the
platform rings the operator's phone, then the elder's (hotline/alarm_call_back.py)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import DomainError
from backend.core.idempotency import HEADER
from hotline.alarm_call_back import alarm_call_back_start

from .serializers import AlarmOutput
from .staff import _answer, _staff_alarm

KEY_MAX = 200


class AlarmCallBackView(APIView):
    """Call the alarm's elder back: your registered phone rings first (422
    `operator_phone_missing` without one); when you answer you hear which elder and alarm it is,
    and pressing 1 dials the elder's mobile, else landline (422 `elder_phone_missing` with
    neither), showing the district's hotline number. An alarm nobody acknowledged becomes yours
    when you press 1; until then it keeps escalating. One call-back per alarm at a time (409
    `call_back_in_progress`, naming who); a closed alarm is 409 `alarm_closed`. 503
    `telephony_unavailable` when the telephone network refused or did not answer: the alarm is
    as it was. Its progress comes as `alarm.call_back_<state>` events and in `call_backs`.

    Idempotency-Key: the same key again is the same call-back, as it stands now (kept on the
    call-back itself: the call-back commits before the telephone network is asked, so this
    write holds no request-wide transaction): the same 503 again while it is still placing; a
    call-back that ended without the network having taken its call frees the key for a retry."""

    @extend_schema(
        request=None,
        responses={
            201: AlarmOutput,
            409: OpenApiResponse(description="closed, or a call-back in progress"),
            422: OpenApiResponse(description="no phone for the operator or the elder"),
            503: OpenApiResponse(description="the telephone network refused or did not answer"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        alarm_id, user = _staff_alarm(request, pk)
        key = request.headers.get(HEADER, "").strip()
        if len(key) > KEY_MAX:
            raise DomainError(
                _("Idempotency-Key is longer than 200 characters."),
                code="invalid",
                fields={HEADER: [_("at most 200 characters")]},
            )
        started = alarm_call_back_start(alarm_id=alarm_id, user=user, idempotency_key=key)
        response = _answer(request, alarm_id)
        response.status_code = status.HTTP_201_CREATED
        if started.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
