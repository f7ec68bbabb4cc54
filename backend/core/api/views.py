from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.events import event_envelope, events_after
from backend.core.tickets import ws_ticket_issue


class EventFeedView(APIView):
    """The catch-up feed behind /ws/ pushes: pass the last id you got from this feed as `after`.

    Envelope: `{"type", "id", "at", "data"}`; `data.subject` names the row, `data.before` and
    `data.after` its states. Types:

    - work orders: `request.created`, then `request.<state>` on every change (`matching`,
      `offered`, `assigned`, `en_route`, `on_site`, `completed`, `closed`, `escalated`,
      `failed`, `cancelled`), with `data.event` naming what moved it (an end also carries
      `data.outcome`); `request.sla_missed` when an accept or arrival target passes
      (`data.target`, `data.due_at`);
    - offers (to the worker, or a provider's admins): `offer.created` (service, time,
      distance; no name or address), `offer.accepted`, `offer.declined`, `offer.expired`,
      `offer.withdrawn`;
    - alerts (district staff): `alert.raised` (`data.alert_kind`: `no_worker`, `non_arrival`,
      `late_arrival`, `missing_check_out`, `welfare_no_answer`, `welfare_needs_help`,
      `emergency_outcome`; with `instruction` to call 120 for emergencies),
      `alert.resent` (also to supervisors), `alert.acknowledged` (with `responsible`),
      `alert.resolved` (with `resolution`);
    - visits: `visit.exception_approved`, `visit.exception_rejected`;
    - follow-up: `complaint.opened`, `complaint.upheld`, `complaint.dismissed`;
    - the platform (district staff of every district): `watchdog.stale` when a sweep has not run
      for a minute (`data.timer`, `data.last_ran_at`: deadlines are not being enforced),
      `watchdog.recovered` when it runs again;
    - registries: `worker.shift`, `provider.<status>`, `provider.sanctioned`,
      `provider.appeal_*`, `provider.certificate_expiring`, `elder.created`, `elder.updated`,
      `elder.assessed`, `elder.imported`, ...

    District staff see their district's events; workers, families and provider admins the
    events naming them. Pushes on /ws/ carry the same envelope; after a reconnect, read from
    here with the last `next_after` you had.
    """

    class QuerySerializer(serializers.Serializer):
        after = serializers.IntegerField(required=False, min_value=0)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)

    class EventFeedOutput(serializers.Serializer):
        events = serializers.ListField(child=serializers.DictField())
        next_after = serializers.IntegerField(allow_null=True)

    @extend_schema(
        responses=EventFeedOutput,
        parameters=[
            OpenApiParameter("after", int, description="Last event id received from this feed"),
            OpenApiParameter("limit", int, description="At most this many events (1-500)"),
        ],
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after = query.validated_data.get("after")
        events = events_after(request.user, after=after, limit=query.validated_data["limit"])
        return Response(
            {
                "events": [event_envelope(e) for e in events],
                "next_after": events[-1].pk if events else after,
            }
        )


class WebSocketTicketView(APIView):
    """A one-time ticket for `/ws/?ticket=...`, valid for a few seconds."""

    class WebSocketTicketOutput(serializers.Serializer):
        ticket = serializers.CharField(source="token")
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses=WebSocketTicketOutput)
    def post(self, request):
        ticket = ws_ticket_issue(user=request.user)
        return Response(self.WebSocketTicketOutput(ticket).data, status=status.HTTP_201_CREATED)
