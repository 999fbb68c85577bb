"""Recognising a file from its header: canonical formats, near misses, junk."""

from __future__ import annotations

from pathlib import Path

import pytest

from daozhang.domain.records import Kind
from daozhang.ingest.base import FileHead
from daozhang.ingest.canonical import CANONICAL_FORMATS
from daozhang.ingest.fields import INPUT_FIELDS, field_names
from daozhang.ingest.registry import Detected, Unrecognised, detect


def head(text: str) -> FileHead:
    return FileHead(
        path=Path("x.csv"), size=len(text), head=text.encode(), text=text, encoding="utf-8"
    )


@pytest.mark.parametrize("kind", list(Kind))
def test_each_canonical_header_is_recognised_as_its_kind(kind: Kind) -> None:
    found = detect(head(",".join(field_names(kind)) + "\n"))
    assert isinstance(found, Detected)
    assert found.format.kind is kind and found.format.name == f"canonical.{kind}"


@pytest.mark.parametrize("kind", list(Kind))
def test_only_the_required_columns_are_enough(kind: Kind) -> None:
    required = [f.name for f in INPUT_FIELDS[kind] if f.required]
    found = detect(head(",".join(reversed(required)) + "\n"))
    assert isinstance(found, Detected) and found.format.kind is kind


def test_header_tolerates_case_spaces_and_a_bom() -> None:
    text = (
        "\ufeff Payout_ID ,ACQUIRER,merchant_id ,\u3000account_no,"
        "amount,created_at,status,attempt\n"
    )
    found = detect(head(text))
    assert isinstance(found, Detected) and found.format.kind is Kind.PAYOUTS


def test_extra_columns_are_ignored_but_lower_confidence() -> None:
    plain = detect(head(",".join(field_names(Kind.TERMINALS)) + "\n"))
    extra = detect(head(",".join([*field_names(Kind.TERMINALS), "region", "sales_rep"]) + "\n"))
    assert isinstance(plain, Detected) and isinstance(extra, Detected)
    assert extra.format.kind is Kind.TERMINALS
    assert extra.identification.confidence < plain.identification.confidence


def test_settlement_without_fee_columns_says_what_it_looks_like() -> None:
    cols = [c for c in field_names(Kind.SETTLEMENT) if c not in ("fee", "net_amount")]
    found = detect(head(",".join(cols) + "\n"))
    assert isinstance(found, Unrecognised)
    assert found.candidates[0].kind is Kind.SETTLEMENT
    assert found.candidates[0].missing == ("fee", "net_amount")
    assert found.describe().startswith("settlement: fee, net_amount")


def test_a_wechat_bill_is_not_mistaken_for_a_canonical_file() -> None:
    text = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号\n"
    found = detect(head(text))
    # Only the bill formats come near: the WeChat trade bill, missing its amounts.
    assert isinstance(found, Unrecognised)
    assert not any(c.format.startswith("canonical.") for c in found.candidates)
    assert found.candidates[0].format == "wechat.tradebill"


def test_binary_or_empty_input_is_not_recognised() -> None:
    binary = FileHead(
        path=Path("x.bin"), size=4, head=b"\x00\xff\x10\x80", text=None, encoding=None
    )
    assert isinstance(detect(binary), Unrecognised)
    assert isinstance(detect(head("")), Unrecognised)


def test_the_file_name_plays_no_part() -> None:
    text = ",".join(field_names(Kind.BANK_STATEMENT)) + "\n"
    named = FileHead(
        path=Path("settlement_20260301.csv"), size=1, head=b"", text=text, encoding="utf-8"
    )
    found = detect(named)
    assert isinstance(found, Detected) and found.format.kind is Kind.BANK_STATEMENT


def test_formats_cover_every_kind_once() -> None:
    assert sorted(f.kind for f in CANONICAL_FORMATS) == sorted(Kind)
