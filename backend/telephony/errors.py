"""The provider's refusals, in our own terms: the backend that talks to a provider (for Twilio,
twilio_backend.py, the only module that knows its exception types) raises `ProviderError`, and
the delivery policy (services.py) reads only its `permanent` and `misconfigured` flags."""


class ProviderError(Exception):
    """The provider refused the request. `permanent`: asking again cannot help (an invalid or
    unreachable number, a number that cannot take calls or SMS: Twilio's 4xx answers such as
    21211, 21214, 21614); otherwise (the provider's own failure, its rate limit) a later try
    may succeed. `misconfigured`: the refusal is about our own account or configuration
    (credentials, a suspended account, our sender number), never permanent: every recipient
    would be refused alike until a person fixes it. A timeout or a lost connection is not a
    ProviderError: its outcome is unknown."""

    def __init__(
        self,
        code: str,
        *,
        permanent: bool,
        misconfigured: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(f"provider refused ({code}, HTTP {status})")
        self.code = code
        self.permanent = permanent and not misconfigured
        self.misconfigured = misconfigured
        self.status = status
