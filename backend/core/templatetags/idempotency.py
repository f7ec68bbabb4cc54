"""`{% idempotency_field %}`: the hidden field that makes a form's post safe to send twice (a
double tap, htmx or the browser sending it again), on the console's and the family page's
forms. A new key each time the form is rendered; backend/core/idempotency.py
`form_post_first` claims it."""

from uuid import uuid4

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backend.core.idempotency import FORM_FIELD

register = template.Library()


@register.simple_tag
def idempotency_field() -> SafeString:
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, uuid4().hex)
