"""The workspace simulator behind ``daozhang simulate`` and ``daozhang demo``.

:func:`simulate` writes a realistic set of canonical files (contracts,
terminals, maintenance notices, POS journals, settlement files, payouts, bank
statements) and ``truth.jsonl``, the exceptions a reconciliation as of the
simulation's as-of date must find: no more, no fewer.
"""

from daozhang.simulate.simulator import SimulationSummary, simulate, simulate_transactions

__all__ = ["SimulationSummary", "simulate", "simulate_transactions"]
