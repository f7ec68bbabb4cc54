"""What a job's page shows its worker: the API's work order as the worker may see it (the elder's
name, phone, address and home only while the job's access grant is live), the links that open
the phone's dialler and map app, and which visit actions the job's state allows."""

from typing import Any
from urllib.parse import quote, urlencode

from backend.accounts.models import User
from backend.core.geo import wgs84_to_gcj02
from dispatch.api.serializers import RequestOutput
from dispatch.en_route import en_route_distances
from dispatch.models import WELFARE_CHECK, GeofenceReason, ServiceRequest, WelfareOutcome
from dispatch.selectors import request_visible
from dispatch.transitions import REQUEST_TRANSITIONS

# The worker's visit actions, in the order the page offers them; which the job's state allows
# is read from the work order's transition table (the table the services check).
VISIT_ACTIONS = ("set_out", "check_in", "check_out")


def my_job(user: User, request_id: int) -> ServiceRequest | None:
    """The work order if it is the worker's job: what the API's work order and today's jobs show
    a worker (`requests_visible_to`: jobs assigned to them). None for anyone else's."""
    return request_visible(user, request_id)


def map_links(location: dict[str, Any] | None, name: str) -> dict[str, str]:
    """Links that open the phone's map app at the elder's home. Amap (高德) takes GCJ-02, so the
    stored WGS-84 point is converted for it; `geo:` (Android's own intent, and most other apps)
    takes WGS-84 as stored."""
    if not location:
        return {}
    lng, lat = location["coordinates"]
    g_lng, g_lat = wgs84_to_gcj02(lng, lat)
    amap = urlencode(
        {
            "position": f"{g_lng:.6f},{g_lat:.6f}",
            "name": name,
            "coordinate": "gaode",
            "callnative": "1",
        },
        quote_via=quote,
    )
    return {
        "amap": f"https://uri.amap.com/marker?{amap}",
        "geo": f"geo:{lat:.6f},{lng:.6f}?q={lat:.6f},{lng:.6f}({quote(name)})",
    }


def job_shown(user: User, sr: ServiceRequest) -> dict[str, Any]:
    """The job as its page shows it."""
    shown = dict(RequestOutput(sr, context={"user": user}).data)
    elder = shown["elder"]
    shown["service"] = sr.service_type.local_name
    shown["state_label"] = sr.get_state_display()
    shown["window_start"] = sr.window_start
    shown["window_end"] = sr.window_end
    shown["phone"] = elder.get("phone") or ""
    shown["maps"] = map_links(elder.get("location"), elder.get("full_name", ""))
    shown["actions"] = [
        action for action in VISIT_ACTIONS if (sr.state, action) in REQUEST_TRANSITIONS
    ]
    shown["welfare_check"] = sr.service_type.code == WELFARE_CHECK
    shown["en_route"] = en_route_distances([sr.pk]).get(sr.pk)  # None unless on the way
    return shown


def visit_choices() -> dict[str, Any]:
    """The codes a check-in or check-out takes, by their labels."""
    return {
        "geofence_reasons": GeofenceReason.choices,
        "welfare_outcomes": WelfareOutcome.choices,
    }
