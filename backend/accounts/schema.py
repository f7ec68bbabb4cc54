"""OpenAPI security schemes for the project's authentication classes (drf-spectacular)."""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class TokenScheme(SimpleJWTScheme):
    target_class = "backend.accounts.authentication.TokenAuthentication"
    name = "jwtAuth"


class SignedInSessionScheme(SessionScheme):
    target_class = "backend.accounts.authentication.SessionAuthentication"
    name = "cookieAuth"
