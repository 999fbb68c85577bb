"""What a refund can refund: the approved sales the POS journal or the acquirer knows."""

from __future__ import annotations

REFUNDS = """
    SELECT * FROM pos_s WHERE result = 'approved' AND txn_type = 'refund'
"""

# One row per (merchant, rrn) of a sale or pre-auth completion that a refund
# names: its amount and the record it comes from (the POS row when the
# journal has it). Only the sales a refund names: the rules join on exactly
# those, and numbering every sale of a million would cost the most of both.
SALES = f"""
    SELECT merchant_id, rrn, amount_fen, row_id FROM (
        SELECT u.merchant_id, u.rrn, ABS(u.amount_fen) AS amount_fen, u.row_id,
               ROW_NUMBER() OVER (PARTITION BY u.merchant_id, u.rrn
                                  ORDER BY u.source_rank, u.row_id) AS pick
        FROM (
            SELECT merchant_id, rrn, amount_fen, row_id, 1 AS source_rank FROM pos_s
            WHERE result = 'approved' AND txn_type IN ('sale', 'preauth_complete')
              AND rrn IS NOT NULL
            UNION ALL
            SELECT merchant_id, rrn, amount_fen, row_id, 2 FROM stl_s
            WHERE dup_rank = 1 AND txn_type IN ('sale', 'preauth_complete') AND rrn IS NOT NULL
        ) u
        JOIN (SELECT DISTINCT merchant_id, orig_rrn FROM ({REFUNDS}) f) named
          ON named.merchant_id = u.merchant_id AND named.orig_rrn = u.rrn
    ) s WHERE pick = 1
"""
