"""Payouts: their outcome, their arrival window, and the bank credit that paid each.

Grain of each step:

* ``payout_v`` — one row per payout_id (all its attempts, or a *phantom*
  payout named by settlement rows but absent from the payout records), with
  outcome, amount, account, bank, settle date and arrival window;
* ``credit_ref`` / ``credit_fb_<n>`` / ``payout_credit`` — one row per
  (payout, credit) pair: first by reference, then by the fallback (same
  account, same amount, inside the window), taken mutually best round after
  round so that no credit pays two payouts and no payout is paid twice;
* ``payout_disp`` and ``bank_disp`` — what became of every payout and every
  bank entry.
"""

from __future__ import annotations

from daozhang.match.steps import Step, add_working

__all__ = [
    "FALLBACK_ROUNDS",
    "STEPS_AFTER_FALLBACK",
    "STEPS_BEFORE_FALLBACK",
    "fallback_round",
    "payout_credit",
]

# Settlement rows per payout_id: how many, their net, their last settle date.
PAYOUT_ROWS = Step(
    "payout_rows",
    """
    SELECT payout_id, MAX(merchant_id) AS merchant_id, COUNT(*) AS n_rows,
           SUM(net_fen) AS net_fen, MAX(settle_date) AS settle_date,
           MAX(currency) AS currency
    FROM stl_s WHERE payout_id IS NOT NULL
    GROUP BY payout_id
    """,
)

# One row per payout_id. The attempt that speaks for the payout is the one
# that succeeded, else the highest attempt. A payout_id that settlement rows
# carry but no payout record names is a phantom payout, outcome pending.
PAYOUT_BASE = Step(
    "payout_base",
    """
    SELECT a.payout_id, a.merchant_id, a.account_no, a.bank_code, a.amount_fen, a.currency,
           CASE WHEN a.any_succeeded = 1 THEN 'succeeded' ELSE a.status END AS outcome,
           a.failure_code, a.failure_reason, a.created_at, a.attempt, a.n_attempts,
           COALESCE(r.settle_date, a.first_date) AS settle_date,
           r.n_rows, r.net_fen AS rows_net_fen, FALSE AS phantom
    FROM (
        SELECT p.*,
               ROW_NUMBER() OVER (PARTITION BY payout_id
                                  ORDER BY CASE WHEN status = 'succeeded' THEN 0 ELSE 1 END,
                                           attempt DESC, created_at DESC, row_id DESC) AS pick,
               MAX(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END)
                   OVER (PARTITION BY payout_id) AS any_succeeded,
               MIN(created_date) OVER (PARTITION BY payout_id) AS first_date,
               COUNT(*) OVER (PARTITION BY payout_id) AS n_attempts
        FROM payouts p
    ) a
    LEFT JOIN payout_rows r ON r.payout_id = a.payout_id
    WHERE a.pick = 1
    UNION ALL
    SELECT r.payout_id, r.merchant_id, c.settlement_account, c.settlement_bank_code,
           r.net_fen, r.currency, 'pending', NULL, NULL, NULL, 0, 0,
           r.settle_date, r.n_rows, r.net_fen, TRUE
    FROM payout_rows r
    LEFT JOIN contract_v c
           ON c.merchant_id = r.merchant_id AND c.effective_from <= r.settle_date
          AND (c.effective_to IS NULL OR r.settle_date < c.effective_to)
    WHERE r.payout_id NOT IN (SELECT payout_id FROM payouts)
    """,
)

# The arrival window (RULES.md): nominal end = add_working(settle, grace);
# each maintenance window of the receiving bank overlapping [settle, nominal
# end] extends it to add_working(maintenance end date, grace), which is never
# earlier than the nominal end since the maintenance ends on or after settle.
PAYOUT_WINDOW = Step(
    "payout_v",
    f"""
    SELECT b.*, n.nominal_end, COALESCE(m.extended_to, n.nominal_end) AS extended_end,
           c.settlement_account AS contract_account, fc.failure_class
    FROM payout_base b
    JOIN (
        SELECT pb.payout_id, ne.d AS nominal_end
        FROM payout_base pb CROSS JOIN params prm
        {add_working("pb.settle_date", "prm.grace", "ne")}
    ) n ON n.payout_id = b.payout_id
    LEFT JOIN (
        SELECT pb.payout_id, MAX(me.d) AS extended_to
        FROM payout_base pb CROSS JOIN params prm
        {add_working("pb.settle_date", "prm.grace", "ne")}
        JOIN maintenance mw
          ON mw.bank_code = pb.bank_code AND mw.scope IN ('payouts', 'all')
         AND mw.start_date <= ne.d AND mw.end_date >= pb.settle_date
        {add_working("mw.end_date", "prm.grace", "me")}
        GROUP BY pb.payout_id
    ) m ON m.payout_id = b.payout_id
    LEFT JOIN contract_v c
           ON c.merchant_id = b.merchant_id AND c.effective_from <= b.settle_date
          AND (c.effective_to IS NULL OR b.settle_date < c.effective_to)
    LEFT JOIN failure_codes fc ON fc.code = b.failure_code
    """,
)

CREDITS = Step(
    "credits",
    """
    SELECT e.row_id, e.account_no, e.value_date, e.amount_fen, e.reference, e.src_path,
           e.src_line, cal.dnum
    FROM bank_statement e LEFT JOIN cal ON cal.d = e.value_date
    WHERE e.amount_fen > 0
    """,
)

# Every reference a payout may be credited under: its id and its attempts' bank refs.
PAYOUT_REFS = Step(
    "payout_refs",
    """
    SELECT DISTINCT payout_id, ref FROM (
        SELECT payout_id, payout_id AS ref FROM payout_v
        UNION ALL
        SELECT payout_id, bank_ref FROM payouts WHERE bank_ref IS NOT NULL
    ) r
    """,
)

_PAIR_ORDER = (
    "ABS(c.dnum - ps.dnum), p.settle_date, p.payout_id, c.value_date, c.src_path, c.src_line, "
    "c.row_id"
)


def _mutually_best(candidates: str) -> str:
    """Keep the pairs that are each other's first choice under one total order.

    Both sides rank by the same order (closest value date to the settle date,
    then payout, then credit), so the best pair overall is always kept and
    every round makes progress.
    """
    return f"""
    SELECT payout_id, credit_row_id FROM (
        SELECT payout_id, credit_row_id,
               ROW_NUMBER() OVER (PARTITION BY payout_id ORDER BY pair_order) AS p_rank,
               ROW_NUMBER() OVER (PARTITION BY credit_row_id ORDER BY pair_order) AS c_rank
        FROM ({candidates}) cand
    ) ranked
    WHERE p_rank = 1 AND c_rank = 1
    """


def _pair_select(join: str, where: str) -> str:
    return f"""
        SELECT p.payout_id, c.row_id AS credit_row_id,
               ROW_NUMBER() OVER (ORDER BY {_PAIR_ORDER}) AS pair_order
        FROM payout_v p
        LEFT JOIN cal ps ON ps.d = p.settle_date
        {join}
        WHERE {where}
    """


# 1. By reference: the credit names the payout. Any outcome: a payout
# reported failed that was in fact credited is a payout that arrived.
CREDIT_BY_REFERENCE = Step(
    "credit_ref",
    _mutually_best(
        _pair_select(
            "JOIN payout_refs r ON r.payout_id = p.payout_id JOIN credits c ON c.reference = r.ref",
            "TRUE",
        )
    ),
)

# Each round keeps every mutually best pair at once, so a round settles whole
# accounts in parallel; conflicts needing many rounds are rare. Past the
# limit the run warns that some credits may have been left unpaired.
FALLBACK_ROUNDS = 50


def fallback_round(n: int) -> Step:
    """Round ``n`` (1-based) of the fallback match: same account and amount, inside the window."""
    taken = ["credit_ref"] + [f"credit_fb_{i}" for i in range(1, n)]
    used_payouts = " UNION ALL ".join(f"SELECT payout_id FROM {t}" for t in taken)
    used_credits = " UNION ALL ".join(f"SELECT credit_row_id FROM {t}" for t in taken)
    return Step(
        f"credit_fb_{n}",
        _mutually_best(
            _pair_select(
                "JOIN credits c ON c.account_no = p.account_no AND c.amount_fen = p.amount_fen "
                "AND c.value_date >= p.settle_date AND c.value_date <= p.extended_end",
                f"p.outcome IN ('succeeded', 'pending') "
                f"AND p.payout_id NOT IN ({used_payouts}) "
                f"AND c.row_id NOT IN ({used_credits})",
            )
        ),
    )


def payout_credit(rounds: int) -> Step:
    """All pairs found, by reference and by the fallback rounds that ran."""
    parts = ["SELECT payout_id, credit_row_id, 'reference' AS matched_by FROM credit_ref"]
    parts += [
        f"SELECT payout_id, credit_row_id, 'amount_and_window' FROM credit_fb_{i}"
        for i in range(1, rounds + 1)
    ]
    return Step("payout_credit", " UNION ALL ".join(parts))


PAYOUT_DISPOSITION = Step(
    "payout_disp",
    """
    SELECT p.payout_id, pc.credit_row_id, pc.matched_by, c.value_date AS credit_date,
           CASE
               WHEN pc.credit_row_id IS NULL AND p.outcome IN ('failed', 'returned') THEN
                   CASE WHEN p.failure_class = 'retryable' THEN 'failed_retryable'
                        ELSE 'failed_action_required' END
               WHEN p.contract_account IS NOT NULL AND p.account_no <> p.contract_account
                   THEN 'misrouted'
               WHEN pc.credit_row_id IS NOT NULL THEN
                   CASE WHEN c.value_date > p.nominal_end THEN 'arrived_late' ELSE 'arrived' END
               WHEN prm.as_of > p.extended_end THEN 'settled_not_arrived'
               ELSE 'in_transit'
           END AS disposition
    FROM payout_v p
    CROSS JOIN params prm
    LEFT JOIN payout_credit pc ON pc.payout_id = p.payout_id
    LEFT JOIN credits c ON c.row_id = pc.credit_row_id
    """,
)

BANK_DISPOSITION = Step(
    "bank_disp",
    """
    SELECT e.row_id, pc.payout_id,
           CASE
               WHEN e.amount_fen <= 0 THEN 'debit'
               WHEN pc.payout_id IS NOT NULL THEN 'matched'
               WHEN e.row_id IN (
                   SELECT b.row_id FROM bank_statement b JOIN acquirers a
                     ON STRPOS(b.counterparty_name, a.name) > 0
               ) THEN 'unmatched_credit'
               ELSE 'not_from_acquirer'
           END AS disposition
    FROM bank_statement e
    LEFT JOIN payout_credit pc ON pc.credit_row_id = e.row_id
    """,
)

STEPS_BEFORE_FALLBACK: tuple[Step, ...] = (
    PAYOUT_ROWS,
    PAYOUT_BASE,
    PAYOUT_WINDOW,
    CREDITS,
    PAYOUT_REFS,
    CREDIT_BY_REFERENCE,
)
STEPS_AFTER_FALLBACK: tuple[Step, ...] = (PAYOUT_DISPOSITION, BANK_DISPOSITION)
