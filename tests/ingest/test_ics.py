"""Bank maintenance notices from an operations team's calendar (.ics)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daozhang.domain.records import Kind
from daozhang.ingest import ics
from daozhang.ingest.registry import FORMATS
from daozhang.service.imports import FileStatus, import_paths
from daozhang.store.record_files import register_record_views
from daozhang.store.workspace import Workspace
from tests.helpers.golden import check_golden, read_file

NOTICES = Path(__file__).resolve().parents[1] / "fixtures" / "derived" / "maintenance"
CALENDAR = NOTICES / "bank_notices.ics"


def _write(tmp_path: Path, body: str, name: str = "notices.ics") -> Path:
    path = tmp_path / name
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{body}END:VCALENDAR\r\n", encoding="utf-8")
    return path


def _event(*lines: str) -> str:
    return "BEGIN:VEVENT\r\n" + "".join(f"{x}\r\n" for x in lines) + "END:VEVENT\r\n"


def test_the_worked_example_of_the_module_docstring(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _event(
            "DTSTART;TZID=Asia/Shanghai:20260922T060000",
            "DTEND;TZID=Asia/Shanghai:20260923T200000",
            "SUMMARY:中国银行核心系统升级，暂停入账",
        ),
    )
    got = read_file(path)
    assert got.format == "ics.maintenance" and got.kind is Kind.MAINTENANCE
    (r,) = got.records
    assert (r["bank_code"], r["start"], r["end"], r["scope"], r["note"]) == (
        "BOC",
        "2026-09-22T06:00:00",
        "2026-09-23T20:00:00",
        "payouts",
        "中国银行核心系统升级，暂停入账",
    )
    assert r["src_line"] == 3 and got.rejects == ()


def test_the_notice_calendar_matches_its_golden_records() -> None:
    check_golden(CALENDAR, read_file(CALENDAR))


def test_utc_times_become_china_time_and_floating_times_stay_china_time(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _event("DTSTART:20260926T163000Z", "DURATION:PT5H", "SUMMARY:建行维护")
        + _event("DTSTART:20261010T010000", "DTEND:20261010T030000", "SUMMARY:农行维护"),
    )
    got = [(r["bank_code"], r["start"], r["end"]) for r in read_file(path).records]
    assert got == [
        ("CCB", "2026-09-27T00:30:00", "2026-09-27T05:30:00"),
        ("ABC", "2026-10-10T01:00:00", "2026-10-10T03:00:00"),
    ]


def test_the_bank_is_the_longest_name_found_not_a_shorter_one_inside_it(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _event("DTSTART:20261010T010000", "DTEND:20261010T030000", "SUMMARY:中国工商银行维护")
        + _event(
            "DTSTART:20261011T010000",
            "DTEND:20261011T030000",
            "SUMMARY:维护",
            "X-BANK-CODE:PSBC",
        ),
    )
    assert [r["bank_code"] for r in read_file(path).records] == ["ICBC", "PSBC"]


def test_a_monthly_rule_without_end_stops_at_the_horizon(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _event(
            "DTSTART:20260103T233000",
            "DTEND:20260104T033000",
            "RRULE:FREQ=MONTHLY;BYDAY=1SA",
            "SUMMARY:招行例行维护",
        ),
    )
    records = read_file(path).records
    starts = [dt.datetime.fromisoformat(str(r["start"])) for r in records]
    assert starts[0] == dt.datetime(2026, 1, 3, 23, 30)
    assert starts[-1] - starts[0] <= ics.HORIZON
    assert 20 <= len(starts) <= ics.MAX_OCCURRENCES


def test_events_that_cannot_be_used_are_set_aside_with_their_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _event("DTSTART:20261010T010000", "DTEND:20261010T030000", "SUMMARY:某银行维护")
        + _event("DTSTART:20261012T050000", "DTEND:20261012T010000", "SUMMARY:交行维护")
        + _event("DTSTART:garbage", "DTEND:20261012T010000", "SUMMARY:交行维护")
        + _event("DTSTART:20261012T050000", "SUMMARY:交行维护")
        + _event("DTSTART:20261013T050000", "DTEND:20261013T060000", "SUMMARY:交行维护"),
    )
    got = read_file(path)
    assert [(r.line, r.field, r.code) for r in got.rejects] == [
        (3, "bank_code", "required"),
        (8, "end", "end_before_start"),
        (13, "start", "bad_timestamp"),
        (18, "end", "required"),
    ]
    assert [r["src_line"] for r in got.records] == [22]


def test_a_calendar_is_recognised_by_content_and_nothing_else_claims_it() -> None:
    got = read_file(CALENDAR, FORMATS)
    assert got.format == "ics.maintenance"


def test_an_ics_file_imports_and_reaches_the_stored_maintenance_windows(
    workspace: Workspace,
) -> None:
    report = import_paths(workspace, [CALENDAR])
    (f,) = report.files
    assert f.status is FileStatus.IMPORTED
    assert (f.rows_imported, f.rows_rejected) == (5, 2)
    con = duckdb.connect()
    register_record_views(con, workspace, [Kind.MAINTENANCE])
    got = con.execute(
        "SELECT bank_code, CAST(starts_at AS VARCHAR), scope FROM maintenance ORDER BY starts_at"
    ).fetchall()
    assert got[:2] == [
        ("BOC", "2026-09-22 06:00:00", "payouts"),
        ("CCB", "2026-09-27 00:30:00", "all"),
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=10_000), flips=st.lists(st.integers(0, 10_000)))
def test_truncated_or_damaged_calendars_give_reasons_never_a_crash(
    tmp_path: Path, cut: int, flips: list[int]
) -> None:
    data = bytearray(CALENDAR.read_bytes())
    data = data[: cut % (len(data) + 1)]
    for i in flips:
        if data:
            data[i % len(data)] ^= 0x5A
    path = tmp_path / "damaged.ics"
    path.write_bytes(bytes(data))
    try:
        got = read_file(path, (ics.ICS_FORMAT,))
    except AssertionError:
        return  # no longer recognised as a calendar: the importer reports it so
    assert got.rows_read >= len(got.records)
    for r in got.records:
        assert r["bank_code"] and r["start"] and r["end"]


@pytest.mark.parametrize("text", ["BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n", "bank_code,start\n"])
def test_a_near_miss_is_not_claimed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.ics"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AssertionError, match="not recognised"):
        read_file(path, (ics.ICS_FORMAT,))
