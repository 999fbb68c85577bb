"""What a refund can refund: the approved sales the POS journal or the acquirer knows."""

from __future__ import annotations

# One row per (merchant, rrn) of a sale or pre-auth completion: its amount and
# the record it comes from (the POS row when the journal has it).
SALES = """
    SELECT merchant_id, rrn, amount_fen, row_id FROM (
        SELECT merchant_id, rrn, ABS(amount_fen) AS amount_fen, row_id,
               ROW_NUMBER() OVER (PARTITION BY merchant_id, rrn ORDER BY source_rank, row_id)
                   AS pick
        FROM (
            SELECT merchant_id, rrn, amount_fen, row_id, 1 AS source_rank FROM pos_s
            WHERE result = 'approved' AND txn_type IN ('sale', 'preauth_complete')
              AND rrn IS NOT NULL
            UNION ALL
            SELECT merchant_id, rrn, amount_fen, row_id, 2 FROM stl_s
            WHERE dup_rank = 1 AND txn_type IN ('sale', 'preauth_complete') AND rrn IS NOT NULL
        ) u
    ) s WHERE pick = 1
"""

REFUNDS = """
    SELECT * FROM pos_s WHERE result = 'approved' AND txn_type = 'refund'
"""
