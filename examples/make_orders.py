"""Build examples/orders.xlsx: 250 orders as an operations team would keep them.

Most rows are good; a few carry the mistakes real sheets have (a missing email, a
negative amount, an order typed twice, an unknown currency), so the demo shows what
excelfmt does with rows that need a person. Deterministic: the same file every time.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

NAMES = [
    "Acme Ltd",
    "Bluebird GmbH",
    "Cobalt & Sons",
    "Delta Foods",
    "Evergreen SA",
    "Fjord AS",
    "Granite Inc",
    "Harbor BV",
    "Iris Studio",
    "Juniper Co",
]


def build(path: Path, rows: int = 250) -> None:
    rng = random.Random(20241128)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(["Order", "Customer", "Email", "Amount", "Currency", "Date", "Zip"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for n in range(1, rows + 1):
        customer = rng.choice(NAMES)
        email = f"billing@{customer.split()[0].lower()}.example"
        amount = round(rng.uniform(20, 5000), 2)
        currency = rng.choice(["EUR", "EUR", "USD", "GBP"])
        order = f"PO-{1000 + n}"
        if n % 41 == 0:
            email = ""  # forgotten
        if n % 53 == 0:
            amount = -amount  # a credit typed as an order
        if n % 67 == 0:
            currency = "XYZ"
        if n % 89 == 0:
            order = f"PO-{1000 + n - 1}"  # typed twice
        sheet.append(
            [
                order,
                customer,
                email,
                amount,
                currency,
                date(2024, 11, 1) + timedelta(days=n % 28),
                f"{rng.randint(1, 9999):05d}",
            ]
        )
        sheet.cell(row=n + 1, column=6).number_format = "yyyy-mm-dd"
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 26
    sheet.freeze_panes = "A2"
    book.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("orders.xlsx"))
