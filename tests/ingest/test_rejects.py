from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daozhang.ingest.rejects import (
    REJECT_MESSAGES,
    RejectCode,
    make_reject,
    mask_pans,
    reject_messages,
)

PAN = "6228480012345678"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (PAN, "622848******5678"),
        ("card 6228 4800 1234 5678 paid", "card 622848******5678 paid"),
        ("6228-4800-1234-5678", "622848******5678"),
        ("4111111111111", "411111***1111"),  # 13 digits
        ("6228480012345678901", "622848*********8901"),  # 19 digits
        ("amount 12.50 on 2026-03-01", "amount 12.50 on 2026-03-01"),
        ("rrn 600000000001", "rrn 600000000001"),  # 12 digits: not a card
    ],
)
def test_card_numbers_in_reject_text_are_masked(text: str, masked: str) -> None:
    assert mask_pans(text) == masked


@given(
    prefix=st.text(alphabet=string.ascii_letters + ",; ", max_size=5),
    digits=st.text(alphabet=string.digits, min_size=13, max_size=19),
    suffix=st.text(alphabet=string.ascii_letters + ",; ", max_size=5),
)
def test_no_card_number_survives_masking_wherever_it_sits(
    prefix: str, digits: str, suffix: str
) -> None:
    out = mask_pans(prefix + digits + suffix)
    assert digits not in out
    assert digits[:6] in out and digits[-4:] in out


def test_every_code_has_both_languages_with_only_known_placeholders() -> None:
    assert set(REJECT_MESSAGES) == set(RejectCode)
    for code in RejectCode:
        zh, en = reject_messages(code, field="amount", value="x", detail="d")
        assert "{" not in zh and "{" not in en, code
        assert zh != en


def test_a_rejected_amount_reads_in_chinese_first_and_names_the_field() -> None:
    r = make_reject(RejectCode.BAD_AMOUNT, path="pos.csv", line=7, field="amount", value="12.3.4")
    zh, en = r.messages()
    assert zh == "amount 不是以元为单位、最多两位小数的金额：12.3.4"
    assert en == r.reason == "amount: not an amount in yuan with at most two decimals: 12.3.4"


def test_make_reject_masks_value_raw_and_detail() -> None:
    r = make_reject(
        RejectCode.BAD_CARD,
        path="p.csv",
        line=2,
        field="card",
        value=PAN,
        raw=f"M1,{PAN},12.00",
        detail=PAN,
    )
    for text in (r.value, r.raw, r.detail, r.reason):
        assert text is not None and PAN not in text


def test_an_unknown_code_still_renders() -> None:
    assert reject_messages("from_the_future", field=None, value=None, detail=None) == (
        "from_the_future",
        "from_the_future",
    )
