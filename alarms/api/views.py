"""The signed endpoint alarm devices (or their gateway) post to (docs/alarms.md).

No user signs in here: the device's signature over the raw body is the credential. The
message is committed to PostgreSQL before the answer; the pushes that follow are hints that
never hold the answer back."""

import json
import re
from datetime import UTC, datetime
from typing import Any

import structlog
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms import protocol
from alarms.models import DeviceMessage
from alarms.services import MessageIn, device_message_take, device_refusal_report
from backend.accounts.throttles import AlarmDeviceThrottle
from elders.models import AlarmDevice
from elders.services import device_secret

from . import serializers as s

log = structlog.get_logger(__name__)

# Up to 11 digits: any time a datetime can hold (the clock window refuses the far ones).
TIMESTAMP = re.compile(r"[0-9]{1,11}")


class Refused(Exception):
    def __init__(self, status_code: int, code: str, message: str, fields=None, reported=True):
        self.status_code, self.code, self.message = status_code, code, message
        self.fields = fields or {}
        self.reported = reported  # told to the device's district staff (when it is known)
        self.device: AlarmDevice | None = None


def _header(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.HEADER, required=True, description=description
    )


class AlarmIngestView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (AlarmDeviceThrottle,)
    parser_classes = (JSONParser,)  # for the schema: the body is read raw, to check its signature

    @extend_schema(
        auth=[],
        request=s.MessageInput,
        parameters=[
            _header(protocol.HEADER_DEVICE, "The device's serial"),
            _header(protocol.HEADER_TIMESTAMP, "Unix seconds when signed"),
            _header(
                protocol.HEADER_SIGNATURE,
                'Lower-case hex HMAC-SHA256(secret, timestamp + "." + raw body)',
            ),
        ],
        responses={
            202: s.AcceptedOutput,
            400: s.RefusalOutput,
            401: s.RefusalOutput,
            413: s.RefusalOutput,
            422: s.RefusalOutput,
        },
    )
    def post(self, request: Request) -> Response:
        now = timezone.now()
        try:
            device, message = self._verified(request, now)
        except Refused as refusal:
            if refusal.device is not None and refusal.reported:
                device_refusal_report(device_id=refusal.device.pk, reason=refusal.code, at=now)
            headers = {"WWW-Authenticate": "Anxin-Device"} if refusal.status_code == 401 else {}
            error = {"code": refusal.code, "message": refusal.message, "fields": refusal.fields}
            return Response({"error": error}, status=refusal.status_code, headers=headers)
        row = device_message_take(device_id=device.pk, message=message, received_at=now)
        return Response(_accepted(row), status=status.HTTP_202_ACCEPTED)

    def _verified(self, request: Request, now) -> tuple[AlarmDevice, MessageIn]:
        raw = _raw_body(request)
        given = {
            name: request.headers.get(name, "")
            for name in (protocol.HEADER_DEVICE, protocol.HEADER_TIMESTAMP)
        }
        signature = request.headers.get(protocol.HEADER_SIGNATURE, "")
        missing = [name for name, value in [*given.items(), ("sig", signature)] if not value]
        if missing:
            names = [n if n != "sig" else protocol.HEADER_SIGNATURE for n in missing]
            raise Refused(
                400,
                "missing_header",
                _("The request lacks the device's headers."),
                {name: [_("This header is required.")] for name in names},
            )
        serial, timestamp = given[protocol.HEADER_DEVICE], given[protocol.HEADER_TIMESTAMP]
        # The secret is all the check reads: not the elder's row (its phones parsed, its home
        # point built) on every message.
        device = (
            AlarmDevice.objects.filter(serial=serial, active=True)
            .only("pk", "secret_encrypted")
            .first()
        )
        if device is None:
            log.warning("alarm_unknown_device", serial=serial[:64])
            raise Refused(401, "unknown_device", _("No active device has this serial."))
        try:
            return device, self._checked(device, timestamp, signature, raw, now)
        except Refused as refusal:
            refusal.device = device
            raise

    def _checked(
        self, device: AlarmDevice, timestamp: str, signature: str, raw: bytes, now
    ) -> MessageIn:
        if not TIMESTAMP.fullmatch(timestamp):
            raise Refused(
                400,
                "invalid",
                _("The request has invalid fields."),
                {protocol.HEADER_TIMESTAMP: [_("Unix seconds, digits only.")]},
            )
        secret = device_secret(device)
        if not secret or not protocol.signature_matches(secret, timestamp, raw, signature):
            raise Refused(401, "bad_signature", _("The signature does not match the device."))
        signed_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        _clock_check(signed_at, now, protocol.HEADER_TIMESTAMP)
        data = _json(raw)
        body = s.MessageInput(data=data)
        if not body.is_valid():
            fields = {name: [str(e) for e in errors] for name, errors in body.errors.items()}
            raise Refused(400, "invalid", _("The request has invalid fields."), fields)
        values: dict[str, Any] = body.validated_data
        _clock_check(values["at"], now, "at")
        return MessageIn(
            event_id=values["event_id"],
            kind=values["kind"],
            at=values["at"],
            location=values.get("location"),
            battery=values.get("battery"),
        )

    def finalize_response(self, request, response, *args, **kwargs):
        """Every answer, refusals and throttling included, gives the platform's clock."""
        response = super().finalize_response(request, response, *args, **kwargs)
        server_time = int(timezone.now().timestamp())
        response[protocol.HEADER_SERVER_TIME] = str(server_time)
        if isinstance(getattr(response, "data", None), dict):
            response.data["server_time"] = server_time
        return response


def _raw_body(request: Request) -> bytes:
    try:
        raw = request.body
    except RequestDataTooBig:
        raw = None
    if raw is None or len(raw) > protocol.MAX_BODY_BYTES:
        raise Refused(
            413,
            "payload_too_large",
            _("The body is larger than %(limit)s bytes.") % {"limit": protocol.MAX_BODY_BYTES},
            reported=False,
        )
    return raw


def _json(raw: bytes) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise Refused(
            400,
            "invalid",
            _("The request has invalid fields."),
            {"non_field_errors": [_("The body must be a JSON object.")]},
        )
    return data


def _clock_check(at, now, field: str) -> None:
    problem = protocol.clock_problem(at, now)
    if problem == "too_old":
        raise Refused(
            422,
            "too_old",
            _("The message is more than 24 hours old."),
            {field: [_("older than 24 hours")]},
        )
    if problem == "in_future":
        raise Refused(
            422,
            "in_future",
            _("The device's clock is ahead of the platform's: correct it with server_time."),
            {field: [_("more than 300 seconds ahead of the server's time")]},
        )


def _accepted(row: DeviceMessage) -> dict[str, Any]:
    """The answer to a message, the same each time it is sent (built from the kept row)."""
    return {
        "event_id": str(row.event_id),
        "result": row.result,
        "alarm_id": row.alarm_id,
        "late": row.late,
        "delay_s": row.delay_s,
        "received_at": row.received_at.isoformat().replace("+00:00", "Z"),
    }
