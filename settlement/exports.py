"""A statement as a file: CSV (UTF-8 with a BOM, so Excel reads the Chinese) and XLSX. Both from
the same rows: the issued lines, then the totals row, which the database summed. Text cells that
a spreadsheet would run as a formula are escaped."""

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from backend.core.days import local_zone

from .models import LINE_FIELD, STATEMENT_FIELD, Statement
from .payers import Payer

BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYERS = (Payer.LTC_INSURANCE, Payer.DISTRICT_SUBSIDY, Payer.AGE_ALLOWANCE, Payer.ELDER)


def cell_escaped(value: str) -> str:
    """Text a spreadsheet shows as text: a leading apostrophe before a formula's first sign."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _header() -> list[str]:
    return [
        _("Checked in"),
        _("Visit"),
        _("Elder"),
        _("Service"),
        _("Hours"),
        _("Price"),
        _("Unit"),
        _("Amount"),
        *[str(payer.label) for payer in PAYERS],
    ]


def statement_rows(statement: Statement, names: dict[int, str]) -> Iterator[list[Any]]:
    """The header, a row per line (text escaped, amounts as Decimal), and the totals."""
    zone = local_zone()
    yield _header()
    lines = statement.lines.order_by("checked_in_at", "pk").values()
    for row in lines.iterator(chunk_size=5000):
        line: dict[str, Any] = dict(row)
        yield [
            line["checked_in_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            line["visit_id"],
            cell_escaped(names.get(line["elder_id"], "")),
            cell_escaped(line["service_code"]),
            line["hours"],
            line["price"],
            cell_escaped(line["price_unit"]),
            line["amount"],
            *[line[LINE_FIELD[payer]] for payer in PAYERS],
        ]
    yield [
        _("Total"),
        statement.visits,
        "",
        "",
        "",
        "",
        "",
        statement.total,
        *[getattr(statement, STATEMENT_FIELD[payer]) for payer in PAYERS],
    ]


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def statement_csv(rows: Iterator[list[Any]]) -> Iterator[str]:
    """The CSV, a chunk per row, the first starting with the BOM."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write(BOM)
    for row in rows:
        writer.writerow([_text(value) for value in row])
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def statement_xlsx(rows: Iterator[list[Any]], title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
