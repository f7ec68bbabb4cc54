from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from backend.core.crypto import field_decrypt, field_encrypt, lookup_hash
from elders.models import AlarmDevice, Elder

BATCH = 1000


class Command(BaseCommand):
    help = (
        "Re-encrypt every ID number and alarm device secret under the first key of "
        "ANXIN_FIELD_KEYS and recompute the ID numbers' lookup hashes under "
        "ANXIN_LOOKUP_HASH_KEY. Run after putting a new key first; then the old key can be "
        "removed."
    )

    def handle(self, *args, **options):
        ids = list(Elder.objects.exclude(id_number_encrypted="").values_list("pk", flat=True))
        for start in tqdm(range(0, len(ids), BATCH), unit="batch", desc="rotating"):
            with transaction.atomic():
                elders = list(
                    Elder.objects.select_for_update().filter(pk__in=ids[start : start + BATCH])
                )
                for elder in elders:
                    value = field_decrypt(elder.id_number_encrypted)
                    elder.id_number_encrypted = field_encrypt(value)
                    elder.id_number_hash = lookup_hash(value)
                Elder.objects.bulk_update(elders, ["id_number_encrypted", "id_number_hash"])
        self.stdout.write(f"Re-encrypted {len(ids)} ID numbers under the current keys.")
        with transaction.atomic():
            devices = list(
                AlarmDevice.objects.select_for_update().exclude(secret_encrypted="").order_by("pk")
            )
            for device in devices:
                device.secret_encrypted = field_encrypt(field_decrypt(device.secret_encrypted))
            AlarmDevice.objects.bulk_update(devices, ["secret_encrypted"], batch_size=BATCH)
        self.stdout.write(f"Re-encrypted {len(devices)} device secrets under the current keys.")
