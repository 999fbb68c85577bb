"""Every exception explains itself in Chinese and in English, and names its next step."""

from __future__ import annotations

import re

import pytest

from daozhang.classify.data import failure_codes, playbook
from daozhang.domain.findings import ExceptionType
from daozhang.report.explain import explain, next_action, title

FACTS: dict[str, str | int | None] = {
    "merchant_id": "898340153990001",
    "terminal_id": "10016919",
    "rrn": "R00000000101",
    "payout_id": "PO20261105001",
    "amount_fen": 99_900,
    "exp_fen": 100_000,
    "act_fen": 9_000,
    "extra_fen": 1_000_000,
    "exp_date": "2026-11-06",
    "act_date": "2026-11-09",
    "ref_date": "2026-11-05",
    "extra_date": "2026-11-04",
    "exp_text": "6222020200112233",
    "act_text": "ICBC",
    "code": "BANK_MAINTENANCE",
    "detail": "wechat",
    "n": 3,
    "t1": "2026-11-05 00:00",
    "t2": "2026-11-06 06:00",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("t", list(ExceptionType))
def test_every_type_explains_itself_in_both_languages(t: ExceptionType) -> None:
    zh = explain(t, FACTS, "zh")
    en = explain(t, FACTS, "en")
    assert CJK.search(zh), zh
    assert not CJK.search(en.replace("“", "").replace("”", "")), en
    for text in (zh, en):
        assert "{" not in text and "None" not in text, text
        assert len(text) > 20
    assert title(t, "zh") != title(t, "en")


@pytest.mark.parametrize("t", list(ExceptionType))
def test_every_type_has_a_next_step_with_whom_and_what(t: ExceptionType) -> None:
    step = playbook()[t]
    assert step.due_working_days >= 1
    zh, en = next_action(t, "zh"), next_action(t, "en")
    assert step.contact["zh"] in zh and step.send["en"] in en


def test_a_late_payout_names_the_maintenance_window_that_accounts_for_it() -> None:
    zh = explain(ExceptionType.ARRIVED_LATE, FACTS, "zh")
    assert "收款银行 ICBC 在 11-05 00:00 至 11-06 06:00 系统维护" in zh


def test_a_late_payout_names_the_holiday_in_between() -> None:
    facts = {**FACTS, "t1": None, "t2": None, "code": "National Day", "detail": "国庆节"}
    assert "国庆节" in explain(ExceptionType.ARRIVED_LATE, facts, "zh")
    assert "National Day" in explain(ExceptionType.ARRIVED_LATE, facts, "en")


def test_an_unknown_failure_code_is_said_to_need_account_action() -> None:
    facts = {**FACTS, "code": "XYZ_123", "detail": "某某原因"}
    text = explain(ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED, facts, "en")
    assert "XYZ_123" in text and "unknown code" in text


def test_failure_codes_are_classified_once() -> None:
    codes = failure_codes()
    assert codes["BANK_MAINTENANCE"].failure_class == "retryable"
    assert codes["ACCOUNT_FROZEN"].failure_class == "action_required"
