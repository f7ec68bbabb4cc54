"""Bulk import of a district's census spreadsheet (CSV or XLSX).

Idempotent by resident ID number: a row whose ID is already on file updates that elder.
Two modes: keep the good rows (write them, report the rest) or all or nothing (write nothing
if any row is bad). A dry run does the whole import, constraints included, then rolls back.
The report names rows and fields, never an ID number.
"""

import csv
import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from defusedxml import ElementTree
from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import District, User
from backend.core.crypto import field_encrypt, lookup_hash
from backend.core.events import event_record
from backend.core.geo import GCJ02, WGS84, point_wgs84

from .identity import InvalidIdNumber, parse_id_number
from .models import Category, Elder, EmergencyContact, LivingArrangement
from .selectors import phone_parse
from .services import duplicate_id_number

BATCH = 2000
KEEP_GOOD = "keep_good"
ALL_OR_NOTHING = "all_or_nothing"

HEADER_ALIASES = {
    "姓名": "full_name",
    "性别": "gender",
    "出生日期": "birth_date",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "手机": "phone",
    "手机号": "phone",
    "座机": "landline",
    "固定电话": "landline",
    "地址": "address",
    "住址": "address",
    "经度": "longitude",
    "纬度": "latitude",
    "坐标系": "crs",
    "区划代码": "division_code",
    "居住状况": "living_arrangement",
    "类别": "categories",
    "紧急联系人": "contact_name",
    "关系": "contact_relationship",
    "联系人电话": "contact_phone",
}
COLUMNS = [
    "full_name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "landline",
    "address",
    "longitude",
    "latitude",
    "crs",
    "division_code",
    "living_arrangement",
    "categories",
    "contact_name",
    "contact_relationship",
    "contact_phone",
]
GENDERS = {
    "男": "male",
    "女": "female",
    "male": "male",
    "female": "female",
    "m": "male",
    "f": "female",
}
ARRANGEMENTS = {
    **{c.value: c.value for c in LivingArrangement},
    "独居": "alone",
    "空巢": "empty_nest",
    "留守": "left_behind",
    "与家人同住": "with_family",
    "与子女同住": "with_family",
}
CATEGORIES = {
    **{c.value: c.value for c in Category},
    "高龄": "advanced_age",
    "失能": "disabled",
    "残疾": "disabled",
    "失智": "dementia",
    "低保": "low_income",
    "特困": "extreme_poverty",
    "计生特殊家庭": "family_planning",
    "优抚对象": "veteran",
    "退役军人": "veteran",
}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass
class ImportReport:
    mode: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.dry_run and not (self.mode == ALL_OR_NOTHING and self.errors)

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "field", "reason"])
        writer.writerows((e.row, e.field, e.reason) for e in self.errors)
        return out.getvalue()

    def summary(self) -> str:
        counts = {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": len(self.errors),
            "error_rows": len({e.row for e in self.errors}),
        }
        text = (
            _(
                "%(rows)s rows: created %(created)s, updated %(updated)s, %(errors)s errors in "
                "%(error_rows)s rows"
            )
            if self.written
            else _(
                "%(rows)s rows: would create %(created)s, would update %(updated)s, %(errors)s "
                "errors in %(error_rows)s rows"
            )
        ) % counts
        if self.dry_run:
            text += _("; dry run, nothing written")
        elif self.mode == ALL_OR_NOTHING and self.errors:
            text += _("; all or nothing, nothing written")
        return text


# Reading ----------------------------------------------------------------------------------


# Bounds, checked before a file is read (rows also as they are read). 200,000 rows is a large
# district's census (the benchmark imports 100,000 in about a minute); 50 MB holds that many
# rows as CSV or XLSX. An XLSX is a zip: what its parts unpack to, how many parts it has and
# how many shared strings the reader would keep in memory are bounded too.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_XLSX_PARTS = 500
MAX_SHARED_STRINGS = 2_000_000


class CensusFileRefused(ValueError):
    """The file is over a bound; the message names it."""


def read_rows(path: Path | str, content: bytes | None = None) -> Iterator[tuple[int, dict]]:
    """(spreadsheet row number, {column: text}) for each non-blank row; the header is row 1.
    Refuses a file over the bounds above (CensusFileRefused) before reading a row of it: the
    import commits batch by batch, so a refusal half way through would leave half a file."""
    name = str(path).lower()
    if not name.endswith((".xlsx", ".csv")):
        raise ValueError(_("expected a .csv or .xlsx file"))
    size = len(content) if content is not None else Path(path).stat().st_size
    if size > MAX_FILE_BYTES:
        raise CensusFileRefused(
            _("larger than %(mb)s MB: split the census into smaller files")
            % {"mb": MAX_FILE_BYTES // 2**20}
        )
    raw = content if content is not None else Path(path).read_bytes()
    if name.endswith(".xlsx"):
        _xlsx_bounds_check(raw)
        return _read_xlsx(raw)
    text = raw.decode("utf-8-sig")
    if sum(1 for _row in csv.reader(io.StringIO(text))) - 1 > MAX_ROWS:  # blank rows included
        raise _too_many_rows()
    return _read_csv(text)


def _too_many_rows() -> CensusFileRefused:
    return CensusFileRefused(
        _("more than %(rows)s rows: split the census into smaller files")
        % {"rows": f"{MAX_ROWS:,}"}
    )


def _within_rows(numbered: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Rows as read, blank ones included, refusing the first past MAX_ROWS (should a reader
    ever number rows otherwise than the count before reading did)."""
    for number, values in numbered:
        if number - 1 > MAX_ROWS:
            raise _too_many_rows()
        yield number, values


def _xlsx_bounds_check(content: bytes) -> None:
    """Refuse an XLSX over the bounds from what its zip directory and the first bytes of its
    parts declare, streaming through the shared strings, before openpyxl opens it."""
    entries = _zip_entry_count(content)
    if entries is None or entries > MAX_XLSX_PARTS:
        raise CensusFileRefused(
            _("not a workbook of at most %(parts)s parts") % {"parts": MAX_XLSX_PARTS}
        )
    try:
        book = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise CensusFileRefused(_("not an XLSX workbook (not a zip file)")) from None
    with book:
        parts = book.infolist()
        # zipfile stops every part at its declared size, so the declared sizes are the bound
        if sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES:
            raise CensusFileRefused(
                _("unpacks to more than %(mb)s MB") % {"mb": MAX_UNPACKED_BYTES // 2**20}
            )
        for part in parts:
            lower = part.filename.lower()
            if lower.startswith("xl/worksheets/") and lower.endswith(".xml"):
                with book.open(part) as sheet:
                    declared = _DIMENSION.search(sheet.read(4096))
                if declared and int(declared.group(1) or 0) - 1 > MAX_ROWS:
                    raise _too_many_rows()
                with book.open(part) as sheet:
                    if _last_row(sheet) - 1 > MAX_ROWS:
                        raise _too_many_rows()
            elif lower.endswith("sharedstrings.xml"):
                with book.open(part) as shared:
                    _shared_strings_check(shared)


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]+\d+(?::[A-Z]+(\d+))?\"")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row(?=[\s>/])([^>]*)>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')


def _last_row(sheet: IO[bytes]) -> int:
    """The number of the last row a sheet's XML holds, as a reader numbers them: a row's `r`,
    or the one after the row before where `r` is left out (blank rows count, as read). A pass
    over the bytes, a megabyte at a time, without parsing the XML."""
    last = current = 0
    tail = b""
    while chunk := sheet.read(1 << 20):
        data = tail + chunk
        cut = data.rfind(b"<")  # a tag may go on in the next chunk
        done, tail = (data, b"") if cut < 0 else (data[:cut], data[cut:])
        for tag in _ROW_TAG.finditer(done):
            number = _ROW_NUMBER.search(tag.group(1))
            current = int(number.group(1)) if number else current + 1
            last = max(last, current)
    for tag in _ROW_TAG.finditer(tail):
        number = _ROW_NUMBER.search(tag.group(1))
        last = max(last, int(number.group(1)) if number else current + 1)
    return last


def _zip_entry_count(content: bytes) -> int | None:
    """The number of parts the zip's end record declares, read before zipfile lists them all
    (each listed part costs memory). None if there is no end record; 0xFFFF means ZIP64."""
    end = content.rfind(b"PK\x05\x06", max(0, len(content) - 65_557))
    if end < 0 or len(content) < end + 22:
        return None
    return int(struct.unpack_from("<H", content, end + 10)[0])


def _shared_strings_check(stream: IO[bytes]) -> None:
    too_many = CensusFileRefused(
        _("more than %(count)s shared strings") % {"count": f"{MAX_SHARED_STRINGS:,}"}
    )
    count = 0
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        if event == "start":
            if element.tag.endswith("}sst"):
                declared = element.get("uniqueCount") or element.get("count") or "0"
                if declared.isdigit() and int(declared) > MAX_SHARED_STRINGS:
                    raise too_many
            continue
        if element.tag.endswith("}si"):
            count += 1
            if count > MAX_SHARED_STRINGS:
                raise too_many
            element.clear()


def _columns(header: Iterable[Any]) -> list[str]:
    names = []
    for cell in header:
        text = str(cell or "").strip()
        names.append(HEADER_ALIASES.get(text, text.lower()))
    return names


def _read_csv(text: str) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text))
    header = _columns(next(reader, []))
    for number, values in _within_rows(enumerate(reader, start=2)):
        if any(v.strip() for v in values):
            yield number, dict(zip(header, values, strict=False))


def _read_xlsx(content: bytes) -> Iterator[tuple[int, dict]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        rows = book.active.iter_rows(values_only=True)
        header = _columns(next(rows, []))
        for number, values in _within_rows(enumerate(rows, start=2)):
            if any(v not in (None, "") for v in values):
                yield number, {k: _cell_text(v) for k, v in zip(header, values, strict=False)}
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Validation -------------------------------------------------------------------------------


def _clean(values: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    v = {k: (values.get(k) or "").strip() for k in COLUMNS}
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}

    out["full_name"] = v["full_name"]
    if not v["full_name"]:
        errors.append(("full_name", _("required")))
    elif len(v["full_name"]) > 100:
        errors.append(("full_name", _("longer than 100 characters")))

    gender = GENDERS.get(v["gender"].lower())
    if gender is None:
        errors.append(("gender", _("must be 男/女 or male/female")))
    out["gender"] = gender

    birth = None
    if v["birth_date"]:
        try:
            birth = date.fromisoformat(v["birth_date"].replace("/", "-"))
        except ValueError:
            errors.append(("birth_date", _("not a date (YYYY-MM-DD)")))
    out["birth_date"] = birth

    out["id_number"] = None
    if not v["id_number"]:
        errors.append(("id_number", _("required: the import is keyed by ID number")))
    else:
        try:
            parsed = parse_id_number(v["id_number"])
        except InvalidIdNumber as exc:
            errors.append(("id_number", exc.reason))
        else:
            if birth and parsed.birth_date != birth:
                errors.append(("id_number", _("the birth date inside it differs from birth_date")))
            if gender and parsed.gender != gender:
                errors.append(
                    ("id_number", _("its sequence digit says %(found)s") % {"found": parsed.gender})
                )
            out["id_number"] = parsed
            out["birth_date"] = birth or parsed.birth_date

    for name in ("phone", "landline"):
        out[name] = ""
        if v[name]:
            number = phone_parse(v[name])
            if number is None:
                errors.append((name, _("not a possible phone number")))
            out[name] = number or ""

    out["address"] = v["address"]
    if not v["address"]:
        errors.append(("address", _("required")))

    crs = (v["crs"] or WGS84).lower().replace("-", "")
    if crs not in (WGS84, GCJ02):
        errors.append(("crs", _("must be wgs84 or gcj02")))
    try:
        lng, lat = float(v["longitude"]), float(v["latitude"])
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise ValueError
        out["location"] = point_wgs84(lng, lat, crs if crs in (WGS84, GCJ02) else WGS84)
    except ValueError:
        errors.append(("longitude/latitude", _("missing or out of range")))

    out["division_code"] = v["division_code"]
    if v["division_code"] and not (v["division_code"].isdigit() and len(v["division_code"]) == 12):
        errors.append(("division_code", _("must be 12 digits")))

    out["living_arrangement"] = ""
    if v["living_arrangement"]:
        arrangement = ARRANGEMENTS.get(v["living_arrangement"])
        if arrangement is None:
            errors.append(("living_arrangement", _("unknown value")))
        out["living_arrangement"] = arrangement or ""

    categories = set()
    for part in v["categories"].replace("、", ";").replace(",", ";").replace("|", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code = CATEGORIES.get(part)
        if code is None:
            errors.append(("categories", _("unknown category %(value)r") % {"value": part}))
        else:
            categories.add(code)
    out["categories"] = sorted(categories)

    out["contact"] = None
    if v["contact_phone"] or v["contact_name"]:
        contact_phone = phone_parse(v["contact_phone"]) if v["contact_phone"] else None
        if contact_phone is None:
            errors.append(("contact_phone", _("missing or not a possible phone number")))
        if not v["contact_name"]:
            errors.append(("contact_name", _("required with a contact phone")))
        out["contact"] = (v["contact_name"], v["contact_relationship"], contact_phone)
    return out, errors


# Writing ----------------------------------------------------------------------------------


def elders_import(
    rows: Iterable[tuple[int, dict]],
    *,
    district: District,
    actor: User | None,
    mode: str = KEEP_GOOD,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the rows into `district`.

    Transactions are short where the mode allows: keeping the good rows, each batch of BATCH
    rows commits on its own with an audit row of its own (`elder.import_batch`); a dry run
    writes each batch and rolls it back. The events feed serves nothing newer than the oldest
    transaction still open anywhere in the cluster (backend/core/events.py,
    COMMIT_SAFE_WATERMARK), and 100,000 rows take about a minute: in one transaction, every
    client's feed would stand still that long. All or nothing is one transaction by what it
    promises, so it holds the feed back while it runs; a dry run first says whether it would
    write anything.
    """
    if mode not in (KEEP_GOOD, ALL_OR_NOTHING):
        raise ValueError(f"unknown mode {mode}")
    report = ImportReport(mode=mode, dry_run=dry_run)
    whole = transaction.atomic() if mode == ALL_OR_NOTHING and not dry_run else nullcontext()
    with whole:
        _import_batches(rows, district, report, actor, progress)
        if report.written:
            event_record(
                kind="elder.imported",
                subject_type="district",
                subject_id=district.pk,
                actor=actor,
                district_id=district.pk,
                data={
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "errors": len(report.errors),
                    "mode": mode,
                    "dry_run": dry_run,
                },
            )
        elif mode == ALL_OR_NOTHING and not dry_run:
            transaction.set_rollback(True)
    return report


def _import_batches(
    rows: Iterable[tuple[int, dict]],
    district: District,
    report: ImportReport,
    actor: User | None,
    progress: Callable[[int], None] | None,
) -> None:
    seen: dict[str, int] = {}
    batch: list[tuple[int, dict]] = []
    for number, values in rows:
        report.rows += 1
        cleaned, errors = _clean(values)
        parsed = cleaned["id_number"]
        if parsed is not None and parsed.value in seen:
            errors.append(
                ("id_number", _("same ID number as row %(row)s") % {"row": seen[parsed.value]})
            )
        elif parsed is not None:
            seen[parsed.value] = number
        if errors:
            report.errors.extend(RowError(number, f, r) for f, r in errors)
        else:
            batch.append((number, cleaned))
        if len(batch) >= BATCH:
            _write_batch(batch, district, report, actor)
            batch = []
        if progress:
            progress(1)
    _write_batch(batch, district, report, actor)


def _write_batch(
    batch: list[tuple[int, dict]], district: District, report: ImportReport, actor: User | None
) -> None:
    """One batch in a transaction of its own (a savepoint inside all or nothing's): kept with
    its audit row when the import keeps the good rows, rolled back in a dry run."""
    if not batch:
        return
    with transaction.atomic():
        created, updated = report.created, report.updated
        _write(batch, district, report)
        if report.dry_run:
            transaction.set_rollback(True)
        elif report.mode == KEEP_GOOD:
            event_record(
                kind="elder.import_batch",
                subject_type="district",
                subject_id=district.pk,
                actor=actor,
                district_id=district.pk,
                data={
                    "rows": [batch[0][0], batch[-1][0]],
                    "created": report.created - created,
                    "updated": report.updated - updated,
                },
            )


def _write(batch: list[tuple[int, dict]], district: District, report: ImportReport) -> None:
    if not batch:
        return
    hashes = {lookup_hash(c["id_number"].value): (n, c) for n, c in batch}
    existing = {e.id_number_hash: e for e in Elder.objects.filter(id_number_hash__in=hashes)}
    for digest, elder in existing.items():
        if digest is not None and elder.district_id != district.pk:
            number, _cleaned = hashes.pop(digest)
            report.errors.append(RowError(number, "id_number", duplicate_id_number()))
    fields = [
        "full_name",
        "gender",
        "birth_date",
        "phone",
        "landline",
        "address",
        "location",
        "division_code",
        "living_arrangement",
        "categories",
    ]
    to_create: list[Elder] = []
    to_update: list[Elder] = []
    for digest, (_row, c) in hashes.items():
        elder = existing.get(digest) or Elder(
            district=district,
            id_number_hash=digest,
            id_number_encrypted=field_encrypt(c["id_number"].value),
        )
        for name in fields:
            setattr(elder, name, c[name])
        (to_update if elder.pk else to_create).append(elder)
    # One upsert for both: bulk_update's CASE expressions are slow for wide batches.
    Elder.objects.bulk_create(
        to_create + to_update,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["id_number_hash"],
        update_fields=[*fields, "updated_at"],
    )
    report.created += len(to_create)
    report.updated += len(to_update)
    _write_contacts(
        hashes, {e.id_number_hash: e for e in to_create + to_update if e.id_number_hash}
    )


def _write_contacts(hashes: dict[str, tuple[int, dict]], elders: dict[str, Elder]) -> None:
    wanted = {elders[h].pk: c["contact"] for h, (_, c) in hashes.items() if c["contact"]}
    current = {
        c.elder_id: c for c in EmergencyContact.objects.filter(elder_id__in=wanted, priority=1)
    }
    to_create: list[EmergencyContact] = []
    to_update: list[EmergencyContact] = []
    for elder_id, (name, relationship, phone) in wanted.items():
        contact = current.get(elder_id) or EmergencyContact(elder_id=elder_id, priority=1)
        contact.name, contact.relationship, contact.phone = name, relationship, phone
        (to_update if contact.pk else to_create).append(contact)
    EmergencyContact.objects.bulk_create(
        to_create + to_update,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["elder", "priority"],
        update_fields=["name", "relationship", "phone"],
    )
