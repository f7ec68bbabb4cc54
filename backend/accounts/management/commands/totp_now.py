import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from backend.accounts.models import User
from backend.accounts.otp import is_demo_device, otp_device


class Command(BaseCommand):
    help = (
        "DEBUG only: print the code a demo staff account's authenticator app shows now, to sign "
        "in to the demo from the command line. Refuses any account that is not the demo's."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        if not settings.DEBUG:
            raise CommandError("totp_now is for development only (DEBUG)")
        user = User.objects.filter(username=username).first()
        device = otp_device(user) if user is not None else None
        if device is None or not is_demo_device(device):
            raise CommandError(f"{username!r} has no demo authenticator")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
        totp.time = time.time()
        self.stdout.write(f"{totp.token():0{device.digits}d}")
