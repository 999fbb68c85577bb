"""Pieces shared by the payout-level classifiers: their columns and evidence."""

from __future__ import annotations

PAYOUT_COLUMNS: dict[str, str] = {
    "key": "p.payout_id",
    "merchant_id": "p.merchant_id",
    "payout_id": "p.payout_id",
    "amount_fen": "ABS(p.amount_fen)",
    "currency": "p.currency",
    "ref_date": "p.settle_date",
}

DISPOSED = "FROM payout_disp d JOIN payout_v p ON p.payout_id = d.payout_id"


def payout_evidence(source: str, where: str) -> str:
    """Every attempt and every settlement row of the payouts ``source`` selects with ``where``.

    ``source`` is a FROM clause binding the payout as ``p``.
    """
    return f"""
        SELECT p.payout_id AS key, 'payout' AS role, a.row_id {source}
        JOIN payouts a ON a.payout_id = p.payout_id WHERE {where}
        UNION ALL
        SELECT p.payout_id, 'settlement', s.row_id {source}
        JOIN stl_s s ON s.payout_id = p.payout_id WHERE {where}
    """
