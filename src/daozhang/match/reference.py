"""Reference data made ready for the rules: contracts, acquirers, terminals, working days."""

from __future__ import annotations

from daozhang.match.steps import Step

__all__ = ["STEPS"]

# One contract row per (merchant, effective_from), the last imported winning,
# with the day the next version takes over (effective_to, exclusive).
CONTRACT_VERSIONS = Step(
    "contract_v",
    """
    SELECT merchant_id, merchant_name, mcc, acquirer, settlement_account,
           settlement_account_name, settlement_bank_code, cycle, cutoff_secs,
           fee_debit_card_ppm, cap_debit_card_fen, fee_credit_card_ppm, fee_wechat_ppm,
           fee_alipay_ppm, fee_unionpay_qr_ppm, effective_from, row_id,
           LEAD(effective_from) OVER (PARTITION BY merchant_id ORDER BY effective_from)
               AS effective_to
    FROM (
        SELECT c.*, ROW_NUMBER() OVER (
                   PARTITION BY merchant_id, effective_from
                   ORDER BY import_id DESC, src_line DESC) AS version_rank
        FROM contracts c
    ) v
    WHERE version_rank = 1
    """,
)

CALENDAR_WORKING = Step("cal_working", "SELECT d, wseq FROM cal WHERE working")

# Names that mark a bank credit as coming from an acquirer (RULES.md, unmatched_credit).
ACQUIRERS = Step(
    "acquirers",
    """
    SELECT DISTINCT name FROM (
        SELECT TRIM(acquirer) AS name FROM contracts
        UNION ALL SELECT TRIM(acquirer) FROM settlement
        UNION ALL SELECT TRIM(acquirer) FROM payouts
    ) a
    WHERE name IS NOT NULL AND LENGTH(name) >= 2
    """,
)

# A terminal's status history, one row per (terminal, status_since), last import winning.
TERMINAL_STATUS = Step(
    "terminal_v",
    """
    SELECT terminal_id, merchant_id, status, reason, note, row_id,
           COALESCE(status_since, DATE '1900-01-01') AS since
    FROM (
        SELECT t.*, ROW_NUMBER() OVER (
                   PARTITION BY terminal_id, status_since
                   ORDER BY import_id DESC, src_line DESC) AS version_rank
        FROM terminals t
    ) v
    WHERE version_rank = 1
    """,
)

STEPS: tuple[Step, ...] = (CONTRACT_VERSIONS, CALENDAR_WORKING, ACQUIRERS, TERMINAL_STATUS)
