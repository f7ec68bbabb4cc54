from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.accounts import services
from backend.accounts.factors import needs_second_factor
from backend.accounts.models import User
from backend.accounts.otp import demo_otp_key, otp_device, otp_uri


class Command(BaseCommand):
    help = (
        "Give staff accounts an authenticator app (TOTP): prints each one's otpauth:// URI to "
        "add to the app (or show as a QR code). An account that has one keeps it unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="+")
        parser.add_argument("--reset", action="store_true", help="Replace an existing device")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="DEBUG only: the demo's fixed secrets (public, like the demo password)",
        )

    def handle(self, *args, usernames, reset=False, demo=False, **options):
        if demo and not settings.DEBUG:
            raise CommandError("--demo is for development only (DEBUG): demo secrets are public")
        for username in usernames:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No account {username!r}")
            if not needs_second_factor(user):
                raise CommandError(f"{username} is a {user.role}: only staff have a second factor")
            device = otp_device(user)
            key = demo_otp_key(username) if demo else None
            if device is None or (reset and (key is None or device.key != key)):
                device = services.user_otp_enrol(user=user, key=key)
            elif demo and device.key != key:
                self.stdout.write(f"  {username:<11} has its own authenticator, not the demo's")
                continue
            self.stdout.write(f"  {username:<11} {otp_uri(device)}")
