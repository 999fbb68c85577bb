"""Transactions: POS journal rows and settlement rows, their dates, and the links between them.

Grain of each step:

* ``pos_s`` — one row per POS journal row, with its transaction key,
  contract in effect, business date and expected settle date;
* ``stl_s`` — one row per settlement row, the same, plus ``dup_rank``
  (1 for the primary row of its transaction key, 2.. for duplicate extras)
  and ``covered`` (the POS journal covers its terminal and date);
* ``pos_link`` — one row per matched pair (POS row, primary settlement row);
  a settlement row is linked to at most one POS row and vice versa.
"""

from __future__ import annotations

from daozhang.domain.records import Kind, stored_columns
from daozhang.match.steps import Step, add_working, tx_key

__all__ = ["STEPS"]

# Stored columns no rule reads: the ingest's fingerprints, the file's hash and
# the card's identity. They stay in the Parquet files (evidence reads the
# source tables by row_id), out of the steps' tables: ten million rows of
# 32-character hashes cost more to write than every rule costs to run.
_NOT_MATCHED = frozenset(
    {"import_id", "src_file", "row_fp", "row_occ", "card_hash", "card_masked", "auth_code"}
)


def _matched_columns(kind: Kind, alias: str) -> str:
    return ", ".join(
        f"{alias}.{c.name}" for c in stored_columns(kind) if c.name not in _NOT_MATCHED
    )


def _dated(source: Kind, extra: str) -> str:
    """Contract in effect, business date and expected settle date of each row of ``source``.

    Business date: the local date, or the next day when strictly after the
    cutoff (23:59:59 without a contract). Expected settle date by cycle:
    T1 next working day, D1 next day, D0 same day, T0 same day if working
    else the next working day (RULES.md, "Per record").
    """
    return f"""
    SELECT x.*,
           CASE COALESCE(x.cycle, 'T1')
               WHEN 'D0' THEN x.bdate
               WHEN 'D1' THEN cb.next_day
               WHEN 'T0' THEN CASE WHEN cb.working THEN x.bdate ELSE cb.next_working END
               ELSE cb.next_working
           END AS expected_settle
    FROM (
        SELECT {_matched_columns(source, "r")}, {tx_key("r")} AS tx_key,
               c.row_id AS contract_row_id, c.cycle, c.cutoff_secs,
               CASE WHEN r.txn_secs > COALESCE(c.cutoff_secs, 86399)
                    THEN ct.next_day ELSE r.txn_date END AS bdate{extra}
        FROM {source} r
        LEFT JOIN contract_v c
               ON c.merchant_id = r.merchant_id AND c.effective_from <= r.txn_date
              AND (c.effective_to IS NULL OR r.txn_date < c.effective_to)
        LEFT JOIN cal ct ON ct.d = r.txn_date
    ) x
    LEFT JOIN cal cb ON cb.d = x.bdate
    """


POS = Step("pos_s", _dated(Kind.POS_JOURNAL, ""))

# Settlement rows also carry what the contract says about them: the agreed
# rate for their channel (and the debit cap), name and MCC.
_STL_CONTRACT = """,
               c.merchant_name AS contract_name, c.mcc AS contract_mcc,
               CASE r.channel
                   WHEN 'debit_card' THEN c.fee_debit_card_ppm
                   WHEN 'credit_card' THEN c.fee_credit_card_ppm
                   WHEN 'wechat' THEN c.fee_wechat_ppm
                   WHEN 'alipay' THEN c.fee_alipay_ppm
                   WHEN 'unionpay_qr' THEN c.fee_unionpay_qr_ppm
               END AS rate_ppm,
               CASE WHEN r.channel = 'debit_card' THEN c.cap_debit_card_fen END AS cap_fen"""

# The duplicate rank is numbered only among the rows of a key that occurs more
# than once (a handful in ten million), over the few columns it needs, and
# joined back by row_id: every other row is rank 1. Numbering every row would
# sort the whole settlement file by key for nothing.
SETTLEMENT = Step(
    "stl_s",
    f"""
    SELECT d.*, COALESCE(rk.dup_rank, 1) AS dup_rank,
           CASE WHEN cov.terminal_id IS NOT NULL THEN TRUE ELSE FALSE END AS covered
    FROM ({_dated(Kind.SETTLEMENT, _STL_CONTRACT)}) d
    LEFT JOIN (
        SELECT row_id,
               ROW_NUMBER() OVER (PARTITION BY k ORDER BY settle_date, src_path, src_line, row_id)
                   AS dup_rank
        FROM (SELECT row_id, {tx_key("s")} AS k, settle_date, src_path, src_line
              FROM settlement s) keyed
        WHERE k IN (SELECT {tx_key("t")} FROM settlement t GROUP BY 1 HAVING COUNT(*) > 1)
    ) rk ON rk.row_id = d.row_id
    LEFT JOIN (
        SELECT terminal_id, MIN(txn_date) AS first_date, MAX(txn_date) AS last_date
        FROM pos_journal GROUP BY terminal_id
    ) cov ON cov.terminal_id = d.terminal_id
         AND d.txn_date >= cov.first_date AND d.txn_date <= cov.last_date
    """,
)

# Primary settlement rows to POS rows: by merchant + rrn, or by merchant +
# terminal + batch + trace for a POS row without an rrn (a timeout). When more
# than one POS row could claim a settlement row (the journal holds the same
# rrn twice), the approved one, then the latest, wins: one link per row.
POS_LINK = Step(
    "pos_link",
    """
    SELECT pos_row_id, stl_row_id FROM (
        SELECT cand.*,
               ROW_NUMBER() OVER (PARTITION BY stl_row_id
                                  ORDER BY approved DESC, txn_time DESC, pos_row_id) AS stl_pick,
               ROW_NUMBER() OVER (PARTITION BY pos_row_id
                                  ORDER BY stl_settle, stl_row_id) AS pos_pick
        FROM (
            SELECT p.row_id AS pos_row_id, s.row_id AS stl_row_id, s.settle_date AS stl_settle,
                   CASE WHEN p.result = 'approved' THEN 1 ELSE 0 END AS approved, p.txn_time
            FROM pos_s p JOIN stl_s s
              ON s.dup_rank = 1 AND p.rrn IS NOT NULL
             AND s.merchant_id = p.merchant_id AND s.rrn = p.rrn
            UNION ALL
            SELECT p.row_id, s.row_id, s.settle_date,
                   CASE WHEN p.result = 'approved' THEN 1 ELSE 0 END, p.txn_time
            FROM pos_s p JOIN stl_s s
              ON s.dup_rank = 1 AND p.rrn IS NULL
             AND s.merchant_id = p.merchant_id AND s.terminal_id = p.terminal_id
             AND s.batch_no = p.batch_no AND s.trace_no = p.trace_no
        ) cand
    ) ranked
    WHERE stl_pick = 1 AND pos_pick = 1
    """,
)

# Approved voids name the sale they cancel by orig_rrn.
VOIDED = Step(
    "voided",
    """
    SELECT DISTINCT merchant_id, orig_rrn AS rrn FROM pos_s
    WHERE txn_type = 'void' AND result = 'approved' AND orig_rrn IS NOT NULL
    """,
)

# What became of every POS row (RULES.md, "Dispositions"). The deadline of a
# settleable sale is one working day after its expected settle date.
POS_DISPOSITION = Step(
    "pos_disp",
    f"""
    SELECT p.row_id, p.tx_key, l.stl_row_id, dl.d AS deadline,
           CASE
               WHEN p.result IN ('declined', 'timeout', 'reversed', 'reversal_unconfirmed') THEN
                   CASE WHEN l.stl_row_id IS NOT NULL THEN 'debited_but_failed'
                        ELSE 'failed_not_settled' END
               WHEN l.stl_row_id IS NOT NULL THEN 'matched'
               WHEN p.txn_type = 'void' THEN 'void'
               WHEN p.txn_type = 'refund' THEN 'refund_not_settled'
               WHEN v.rrn IS NOT NULL THEN 'voided'
               WHEN dl.d IS NOT NULL AND prm.as_of > dl.d THEN 'missing_in_settlement'
               ELSE 'not_yet_due'
           END AS disposition
    FROM pos_s p
    CROSS JOIN params prm
    LEFT JOIN pos_link l ON l.pos_row_id = p.row_id
    LEFT JOIN voided v ON v.merchant_id = p.merchant_id AND v.rrn = p.rrn
    {add_working("p.expected_settle", "1", "dl")}
    """,
)

STL_DISPOSITION = Step(
    "stl_disp",
    """
    SELECT s.row_id, s.tx_key, l.pos_row_id,
           CASE
               WHEN s.dup_rank > 1 THEN 'duplicate'
               WHEN l.pos_row_id IS NOT NULL THEN 'matched'
               WHEN s.covered THEN 'unknown_settlement'
               ELSE 'not_covered'
           END AS disposition
    FROM stl_s s
    LEFT JOIN pos_link l ON l.stl_row_id = s.row_id
    """,
)

STEPS: tuple[Step, ...] = (
    POS,
    SETTLEMENT,
    POS_LINK,
    VOIDED,
    POS_DISPOSITION,
    STL_DISPOSITION,
)
