"""`{% live_link_attributes %}`: what backend/core/static/core/live.js reads off a signed-in
page's <body>: where to get a socket ticket, the events feed and its cursor now (the last event
the user may see, read as the page is rendered), and where to send a signed-out user."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backend.accounts.models import User
from backend.core.events import events_head

register = template.Library()


@register.simple_tag(takes_context=True)
def live_link_attributes(context: template.Context, sign_in_url: str) -> SafeString:
    user = context["request"].user
    after = events_head(user) if isinstance(user, User) else None
    return format_html(
        'data-ticket-url="{}" data-events-url="{}" data-events-after="{}" data-sign-in-url="{}"',
        reverse("ws-ticket"),
        reverse("events"),
        "" if after is None else after,
        sign_in_url,
    )
