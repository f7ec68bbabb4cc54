"""Who needs a second factor, and how a token says what its holder gave (the `amr` claim,
RFC 8176). Staff see a whole district; workers, provider admins and families sign in with a
password alone for now."""

from .models import User

PASSWORD = "pwd"
SECOND_FACTOR = "otp"


def needs_second_factor(user: User) -> bool:
    return user.is_district_staff
