"""A simulated workspace: canonical files, consistent money, a truth file that follows the rules.

The checks here recompute from the written files, with the domain's own
functions (fees with ``fee_fen``, settle dates with ``expected_settle_date``,
windows with ``arrival_window``), what the simulator claims: every payout
adds up except the planted ones, every fee and settle date follows the
contract except the planted ones, and a credit without reference can only
be one payout's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from daozhang.domain.calendar import BankCalendar
from daozhang.domain.cycles import arrival_window, business_date, expected_settle_date
from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import fee_fen, parse_percent_ppm, parse_yuan
from daozhang.domain.records import Cycle, MaintenanceWindow, SourceRef
from daozhang.simulate import SimulationSummary, simulate, simulate_transactions
from daozhang.simulate.cards import luhn_ok
from daozhang.simulate.world import ACQUIRERS

_BOM = b"\xef\xbb\xbf"
_KIND_OF = {
    "pos": "pos_journal",
    "settlement": "settlement",
    "payouts": "payouts",
    "bank": "bank_statement",
    "contracts.csv": "contracts",
    "terminals.csv": "terminals",
    "maintenance.csv": "maintenance",
}
_HEADERS = {
    "pos_journal": "merchant_id,terminal_id,batch_no,trace_no,rrn,txn_time,txn_type,channel,"
    "card,amount,currency,result,response_code,auth_code,orig_rrn",
    "settlement": "acquirer,merchant_id,merchant_name,mcc,terminal_id,batch_no,trace_no,rrn,"
    "txn_time,txn_type,channel,card,amount,fee,net_amount,settle_date,payout_id",
    "payouts": "payout_id,acquirer,merchant_id,account_no,account_name,bank_code,amount,"
    "created_at,status,failure_code,failure_reason,bank_ref,attempt",
    "bank_statement": "account_no,booking_date,value_date,amount,currency,counterparty_name,"
    "counterparty_account,reference,balance,bank_txn_id",
    "contracts": "merchant_id,merchant_name,mcc,acquirer,settlement_account,"
    "settlement_account_name,settlement_bank_code,cycle,cutoff,fee_debit_card,cap_debit_card,"
    "fee_credit_card,fee_wechat,fee_alipay,fee_unionpay_qr,effective_from",
    "terminals": "terminal_id,merchant_id,status,status_since,reason,note",
    "maintenance": "bank_code,start,end,scope,note",
}
_CARD_CHANNELS = {"debit_card", "credit_card"}


def _decode(raw: bytes) -> str:
    """UTF-8 with or without BOM, else GB18030: what the ingest must accept."""
    if raw.startswith(_BOM):
        return raw[len(_BOM) :].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _kind(root: Path, path: Path) -> str:
    return _KIND_OF[path.relative_to(root).parts[0]]


@dataclass
class Workspace:
    """The files of one simulation, read back as rows of strings per kind."""

    summary: SimulationSummary
    root: Path
    headers: dict[Path, str]
    rows: dict[str, list[dict[str, str]]]
    truth: list[dict[str, object]]

    def keys(self, t: ExceptionType) -> set[str]:
        return {str(e["key"]) for e in self.truth if e["type"] == t.value}


def _read(summary: SimulationSummary, root: Path) -> Workspace:
    headers: dict[Path, str] = {}
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for path in summary.files:
        text = _decode(path.read_bytes())
        records = list(csv.reader(io.StringIO(text, newline="")))
        headers[path] = ",".join(records[0])
        kind = _kind(root, path)
        rows[kind] += [dict(zip(records[0], r, strict=True)) for r in records[1:]]
    truth = [json.loads(line) for line in summary.truth.read_text("utf-8").splitlines()]
    return Workspace(summary, root, headers, dict(rows), truth)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("sim") / "out"
    return _read(simulate(root, seed=7), root)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("clean") / "out"
    return _read(simulate(root, seed=7, anomalies=False), root)


def _all_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_the_same_seed_gives_byte_identical_files(ws: Workspace, tmp_path: Path) -> None:
    again = simulate(tmp_path / "again", seed=7)
    assert _all_bytes(tmp_path / "again") == _all_bytes(ws.root)
    assert again.as_of == ws.summary.as_of


def test_another_seed_gives_another_workspace(ws: Workspace, tmp_path: Path) -> None:
    simulate(tmp_path / "other", seed=8)
    assert (tmp_path / "other" / "contracts.csv").read_bytes() != (
        ws.root / "contracts.csv"
    ).read_bytes()


def test_a_second_run_into_the_same_folder_leaves_no_stale_files(tmp_path: Path) -> None:
    first = simulate(tmp_path, merchants=5, days=16, seed=1)
    second = simulate(tmp_path, merchants=5, days=14, seed=1)
    written = set(tmp_path.rglob("*.csv"))
    assert written == set(second.files)
    assert len(first.files) > len(second.files)


def test_a_folder_of_someone_elses_files_is_refused_not_cleaned(tmp_path: Path) -> None:
    mine = tmp_path / "contracts.csv"
    mine.write_text("my own contracts\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no simulation wrote"):
        simulate(tmp_path, merchants=5, days=14)
    assert mine.read_text(encoding="utf-8") == "my own contracts\n"


def test_every_file_has_exactly_its_canonical_header(ws: Workspace) -> None:
    for path, header in ws.headers.items():
        assert header == _HEADERS[_kind(ws.root, path)], path
    kinds = {_kind(ws.root, p) for p in ws.headers}
    assert kinds == set(_HEADERS)


def test_files_are_named_as_real_exports(ws: Workspace) -> None:
    names = {str(p.relative_to(ws.root)) for p in ws.summary.files}
    days = (ws.summary.end - ws.summary.start).days + 1
    assert sum(n.startswith("pos/pos_journal_") for n in names) == days
    assert {n.split("/")[1].split("_")[0] for n in names if n.startswith("settlement/")} == {
        a.code for a in ACQUIRERS
    }
    assert "payouts/payouts_202609.csv" in names
    assert all(re.fullmatch(r"bank/\d{12,21}\.csv", n) for n in names if n.startswith("bank/"))


def test_encodings_are_mixed_as_in_real_exports(ws: Workspace) -> None:
    raws = {p: p.read_bytes() for p in ws.summary.files}
    assert any(raw.startswith(_BOM) for raw in raws.values())
    gb = [p for p, raw in raws.items() if not _is_utf8(raw)]
    assert gb and all(_kind(ws.root, p) == "bank_statement" for p in gb)
    text = raws[gb[0]].decode("gb18030")
    assert "\r\n" in text and "有限公司" in text


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_truth_has_every_exception_type_keyed_as_the_rules_key_them(ws: Workspace) -> None:
    assert {e["type"] for e in ws.truth} == {t.value for t in ExceptionType}
    assert len({(e["type"], e["key"]) for e in ws.truth}) == len(ws.truth)
    payout_ids = {r["payout_id"] for r in ws.rows["settlement"]}
    bank_ids = {r["bank_txn_id"] for r in ws.rows["bank_statement"]}
    terminal_ids = {r["terminal_id"] for r in ws.rows["terminals"]}
    for e in ws.truth:
        t, key, fen = ExceptionType(str(e["type"])), str(e["key"]), e["amount_fen"]
        assert set(e) == {
            "type",
            "key",
            "amount_fen",
            "merchant_id",
            "rrn",
            "payout_id",
            "terminal_id",
        }
        if t in _PAYOUT_TYPES:
            assert key in payout_ids and e["payout_id"] == key
        elif t is ExceptionType.UNMATCHED_CREDIT:
            assert key in bank_ids
        elif t is ExceptionType.TERMINAL_SUSPENDED:
            assert key in terminal_ids and e["terminal_id"] == key and fen == 0
            continue
        else:
            assert re.fullmatch(r"\d{15}\|(\d{12}|\d{8}\|\d{6}\|\d{6})", key), key
            assert key.startswith(f"{e['merchant_id']}|")
            assert e["rrn"] is None or key.endswith(f"|{e['rrn']}")
        assert isinstance(fen, int) and fen > 0


_PAYOUT_TYPES = {
    ExceptionType.PAYOUT_TOTAL_MISMATCH,
    ExceptionType.PAYOUT_FAILED_RETRYABLE,
    ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED,
    ExceptionType.SETTLED_NOT_ARRIVED,
    ExceptionType.ARRIVED_LATE,
    ExceptionType.MISROUTED_PAYOUT,
}


def test_summary_and_manifest_describe_what_was_planted(ws: Workspace) -> None:
    s = ws.summary
    assert s.as_of == s.end + dt.timedelta(days=1)
    assert dict(s.planted) == {
        t.value: sum(e["type"] == t.value for e in ws.truth) for t in ExceptionType
    }
    assert s.counts == {k: len(v) for k, v in ws.rows.items()}
    manifest = json.loads(s.manifest.read_text("utf-8"))
    assert manifest["seed"] == 7
    assert manifest["as_of"] == s.as_of.isoformat()
    assert manifest["parameters"]["merchants"] == 12
    assert [(p["type"], p["key"]) for p in manifest["planted"]] == [
        (e["type"], e["key"]) for e in ws.truth
    ]
    assert all(p["description"] for p in manifest["planted"])
    assert s.truth not in s.files and s.manifest not in s.files


def test_card_numbers_are_full_valid_pans_on_card_channels_only(ws: Workspace) -> None:
    for kind in ("pos_journal", "settlement"):
        for r in ws.rows[kind]:
            if r["channel"] in _CARD_CHANNELS:
                card = r["card"]
                assert re.fullmatch(r"[456]\d{15,18}", card) and luhn_ok(card), card
            else:
                assert r["card"] == ""


def test_ids_have_their_real_shapes(ws: Workspace) -> None:
    for r in ws.rows["pos_journal"]:
        assert re.fullmatch(r"\d{15}", r["merchant_id"]) and re.fullmatch(
            r"\d{8}", r["terminal_id"]
        )
        assert re.fullmatch(r"\d{6}", r["batch_no"]) and re.fullmatch(r"\d{6}", r["trace_no"])
        assert r["rrn"] == "" or re.fullmatch(r"\d{12}", r["rrn"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r["txn_time"])
    per_batch = Counter(
        (r["terminal_id"], r["batch_no"], r["trace_no"]) for r in ws.rows["pos_journal"]
    )
    assert max(per_batch.values()) == 1
    rrns = Counter((r["merchant_id"], r["rrn"]) for r in ws.rows["pos_journal"] if r["rrn"])
    assert max(rrns.values()) == 1


def test_traffic_has_every_kind_of_attempt(ws: Workspace) -> None:
    pos = ws.rows["pos_journal"]
    assert {r["txn_type"] for r in pos} == {"sale", "refund", "void", "preauth_complete"}
    assert {r["result"] for r in pos} == {"approved", "declined", "timeout", "reversed"}
    assert {r["channel"] for r in pos} == {
        "debit_card",
        "credit_card",
        "wechat",
        "alipay",
        "unionpay_qr",
    }
    refunds = [r for r in ws.rows["settlement"] if r["txn_type"] == "refund"]
    assert refunds and all(
        parse_yuan(r["amount"]) < 0 and parse_yuan(r["fee"]) <= 0 for r in refunds
    )
    # Most payments are approved sales.
    approved = sum(r["result"] == "approved" and r["txn_type"] == "sale" for r in pos)
    assert approved > 0.85 * len(pos)


def _payouts(ws: Workspace) -> dict[str, dict[str, str]]:
    """The attempt that speaks for each payout: the succeeded one, else the highest."""
    by_id: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in ws.rows["payouts"]:
        by_id[r["payout_id"]].append(r)
    return {
        pid: max(rows, key=lambda r: (r["status"] == "succeeded", int(r["attempt"])))
        for pid, rows in by_id.items()
    }


def test_payouts_add_up_to_their_rows_except_the_planted_ones(ws: Workspace) -> None:
    net: Counter[str] = Counter()
    for r in ws.rows["settlement"]:
        assert parse_yuan(r["net_amount"]) == parse_yuan(r["amount"]) - parse_yuan(r["fee"])
        net[r["payout_id"]] += parse_yuan(r["net_amount"])
    payouts = _payouts(ws)
    off = {pid for pid, p in payouts.items() if pid in net and parse_yuan(p["amount"]) != net[pid]}
    assert off == ws.keys(ExceptionType.PAYOUT_TOTAL_MISMATCH)
    phantoms = set(net) - set(payouts)
    assert phantoms and phantoms <= ws.keys(ExceptionType.SETTLED_NOT_ARRIVED)
    assert all(v > 0 for v in net.values())


def _contracts(ws: Workspace) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in ws.rows["contracts"]:
        out[r["merchant_id"]].append(r)
    return {m: sorted(v, key=lambda r: r["effective_from"]) for m, v in out.items()}


def _in_effect(versions: list[dict[str, str]], day: dt.date) -> dict[str, str]:
    return [v for v in versions if dt.date.fromisoformat(v["effective_from"]) <= day][-1]


def _tx_key(r: dict[str, str]) -> str:
    if r["rrn"]:
        return f"{r['merchant_id']}|{r['rrn']}"
    return f"{r['merchant_id']}|{r['terminal_id']}|{r['batch_no']}|{r['trace_no']}"


def test_fees_follow_the_contract_except_the_planted_ones(ws: Workspace) -> None:
    contracts = _contracts(ws)
    off = set()
    for r in ws.rows["settlement"]:
        at = dt.datetime.fromisoformat(r["txn_time"])
        c = _in_effect(contracts[r["merchant_id"]], at.date())
        rate = parse_percent_ppm(c[f"fee_{r['channel']}"])
        cap = parse_yuan(c["cap_debit_card"]) if r["channel"] == "debit_card" else None
        want = fee_fen(parse_yuan(r["amount"]), rate_ppm=rate, cap_fen=cap)
        if abs(parse_yuan(r["fee"]) - want) > 1:
            off.add(_tx_key(r))
    assert off == ws.keys(ExceptionType.FEE_MISMATCH)


def _expected_settle(ws: Workspace, r: dict[str, str], cal: BankCalendar) -> dt.date:
    at = dt.datetime.fromisoformat(r["txn_time"])
    c = _in_effect(_contracts(ws)[r["merchant_id"]], at.date())
    hh, mm = (int(x) for x in c["cutoff"].split(":"))
    secs = at.hour * 3600 + at.minute * 60 + at.second
    bdate = business_date(at.date(), secs, hh * 3600 + mm * 60)
    return expected_settle_date(bdate, Cycle(c["cycle"]), cal)


def test_rows_settle_on_their_cycle_except_the_planted_late_ones(ws: Workspace) -> None:
    cal = BankCalendar()
    first: dict[str, dict[str, str]] = {}
    for r in sorted(ws.rows["settlement"], key=lambda r: r["settle_date"]):
        first.setdefault(_tx_key(r), r)
        assert dt.date.fromisoformat(r["settle_date"]) >= _expected_settle(ws, r, cal)
    late = {
        k
        for k, r in first.items()
        if dt.date.fromisoformat(r["settle_date"]) > _expected_settle(ws, r, cal)
    }
    assert late == ws.keys(ExceptionType.LATE_SETTLEMENT)
    doubled = {k for k, n in Counter(_tx_key(r) for r in ws.rows["settlement"]).items() if n > 1}
    assert doubled == ws.keys(ExceptionType.DUPLICATE_SETTLEMENT)


def test_every_settleable_sale_due_by_the_as_of_date_is_settled_or_planted(ws: Workspace) -> None:
    cal = BankCalendar()
    settled = {_tx_key(r) for r in ws.rows["settlement"]}
    voided = {
        (r["merchant_id"], r["orig_rrn"])
        for r in ws.rows["pos_journal"]
        if r["txn_type"] == "void" and r["result"] == "approved"
    }
    missing = set()
    for r in ws.rows["pos_journal"]:
        if r["result"] != "approved" or r["txn_type"] not in ("sale", "preauth_complete"):
            continue
        if (r["merchant_id"], r["rrn"]) in voided or _tx_key(r) in settled:
            continue
        expected = _expected_settle(ws, r, cal)
        assert expected > ws.summary.as_of or ws.summary.as_of > cal.add_working(expected, 1)
        if expected <= ws.summary.as_of:
            missing.add(_tx_key(r))
    assert missing == ws.keys(ExceptionType.MISSING_IN_SETTLEMENT)


def _windows(ws: Workspace) -> list[MaintenanceWindow]:
    return [
        MaintenanceWindow(
            source=SourceRef(file_sha256="", path="maintenance.csv", line=i + 2),
            bank_code=r["bank_code"],
            starts_at=dt.datetime.fromisoformat(r["start"]),
            ends_at=dt.datetime.fromisoformat(r["end"]),
            scope=r["scope"],
            note=r["note"],
        )
        for i, r in enumerate(ws.rows["maintenance"])
    ]


def test_a_credit_without_reference_can_only_be_one_payout(ws: Workspace) -> None:
    cal = BankCalendar()
    windows = _windows(ws)
    settle: dict[str, dt.date] = {}
    for r in ws.rows["settlement"]:
        d = dt.date.fromisoformat(r["settle_date"])
        settle[r["payout_id"]] = max(settle.get(r["payout_id"], d), d)
    by_account: dict[tuple[str, int], list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for pid, p in _payouts(ws).items():
        s = settle.get(pid) or dt.datetime.fromisoformat(p["created_at"]).date()
        w = arrival_window(s, bank_code=p["bank_code"], windows=windows, cal=cal)
        by_account[(p["account_no"], parse_yuan(p["amount"]))].append((s, w.extended_end))
    names = [a.name for a in ACQUIRERS]
    unreferenced = [
        r
        for r in ws.rows["bank_statement"]
        if not r["reference"]
        and parse_yuan(r["amount"]) > 0
        and any(n in r["counterparty_name"] for n in names)
    ]
    assert len(unreferenced) >= 2
    planted = ws.keys(ExceptionType.UNMATCHED_CREDIT)
    for r in unreferenced:
        value = dt.date.fromisoformat(r["value_date"])
        fits = [
            (s, end)
            for s, end in by_account[(r["account_no"], parse_yuan(r["amount"]))]
            if s <= value <= end
        ]
        assert len(fits) == (0 if r["bank_txn_id"] in planted else 1), r


def test_the_maintenance_window_fails_a_payout_that_is_retried_after_it(ws: Workspace) -> None:
    window = _windows(ws)[0]
    retried = defaultdict(list)
    for r in ws.rows["payouts"]:
        retried[r["payout_id"]].append(r)
    hit = [rows for rows in retried.values() if len(rows) > 1]
    assert hit
    for first, second in (sorted(rows, key=lambda r: r["attempt"]) for rows in hit):
        assert (first["status"], first["failure_code"]) == ("failed", "BANK_MAINTENANCE")
        assert first["bank_code"] == window.bank_code
        assert window.starts_at <= dt.datetime.fromisoformat(first["created_at"]) <= window.ends_at
        assert second["status"] == "succeeded" and second["attempt"] == "2"
        assert dt.datetime.fromisoformat(second["created_at"]) > window.ends_at
    late = ws.keys(ExceptionType.ARRIVED_LATE)
    assert any(rows[0]["payout_id"] in late for rows in hit)


def test_bank_balances_run_with_the_entries(ws: Workspace) -> None:
    by_account: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in ws.rows["bank_statement"]:
        by_account[r["account_no"]].append(r)
    for rows in by_account.values():
        for before, after in itertools.pairwise(rows):
            assert parse_yuan(after["balance"]) == parse_yuan(before["balance"]) + parse_yuan(
                after["amount"]
            )
    others = {r["counterparty_name"] for r in ws.rows["bank_statement"]}
    assert "国家电网有限公司" in others


def test_a_clean_workspace_has_nothing_to_find(clean: Workspace) -> None:
    assert clean.truth == []
    assert all(v == 0 for v in clean.summary.planted.values())
    assert all(r["status"] == "succeeded" and r["attempt"] == "1" for r in clean.rows["payouts"])
    latest: dict[str, tuple[str, str]] = {}
    for r in clean.rows["terminals"]:
        if r["terminal_id"] not in latest or r["status_since"] >= latest[r["terminal_id"]][0]:
            latest[r["terminal_id"]] = (r["status_since"], r["status"])
    assert "suspended" not in {status for _, status in latest.values()}
    assert len(clean.rows["maintenance"]) == 1


def test_too_small_a_world_for_every_anomaly_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 4 merchants and 14 days"):
        simulate(tmp_path, merchants=3)
    with pytest.raises(ValueError, match="at least 4 merchants and 14 days"):
        simulate(tmp_path, days=10)


def test_a_hundred_thousand_transactions(tmp_path: Path) -> None:
    start = time.perf_counter()
    summary = simulate_transactions(tmp_path, transactions=100_000, seed=1)
    seconds = time.perf_counter() - start
    n = summary.counts["pos_journal"]
    print(f"\n{n:,} POS transactions simulated in {seconds:.1f} s ({n / seconds:,.0f} per second)")
    assert 85_000 <= n <= 115_000
