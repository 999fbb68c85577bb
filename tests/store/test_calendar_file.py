"""The workspace's calendar.csv: read what operations staff write, report what is wrong."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daozhang.domain.calendar import SOURCE_OVERRIDE, BankCalendar, Override
from daozhang.store.calendar_file import (
    CalendarFileError,
    add_override,
    load_overrides,
    write_overrides,
)

D = dt.date


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_override_file_adding_new_years_day_2027_is_honoured(tmp_path: Path) -> None:
    path = write(tmp_path / "calendar.csv", "date,kind,note\n2027-01-01,holiday,元旦\n")
    overrides, problems = load_overrides(path)
    assert problems == []
    assert overrides == [Override(date=D(2027, 1, 1), working=False, note="元旦")]
    cal = BankCalendar(overrides)
    info = cal.day(D(2027, 1, 1))
    assert (info.working, info.known, info.source, info.name) == (
        False,
        True,
        SOURCE_OVERRIDE,
        "元旦",
    )
    # A T1 sale on Thursday 2026-12-31 settles Monday 2027-01-04, not Friday.
    assert cal.next_working(D(2026, 12, 31)) == D(2027, 1, 4)


def test_missing_file_is_simply_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path / "calendar.csv") == ([], [])


def test_empty_file_and_header_only_file_give_nothing(tmp_path: Path) -> None:
    assert load_overrides(write(tmp_path / "a.csv", "")) == ([], [])
    assert load_overrides(write(tmp_path / "b.csv", "\ufeffdate,kind,note\r\n")) == ([], [])


def test_excel_on_chinese_windows_gb18030_with_chinese_kinds(tmp_path: Path) -> None:
    text = "日期,类型,备注\r\n2027-02-06,上班,春节调休\r\n2027-02-08,休,春节\r\n2027-02-20,班,\r\n"
    text += "2027-02-09,休息,春节\r\n"
    path = write(tmp_path / "calendar.csv", text, "gb18030")
    overrides, problems = load_overrides(path)
    assert problems == []
    assert overrides == [
        Override(date=D(2027, 2, 6), working=True, note="春节调休"),
        Override(date=D(2027, 2, 8), working=False, note="春节"),
        Override(date=D(2027, 2, 9), working=False, note="春节"),
        Override(date=D(2027, 2, 20), working=True, note=None),
    ]


def test_utf8_with_bom_columns_in_another_order_and_extra_columns(tmp_path: Path) -> None:
    text = (
        "\ufeffNote , KIND,Date,owner\n国庆节,Holiday,2027/10/1,ops\n,WORKING,2027年9月26日,ops\n"
    )
    overrides, problems = load_overrides(write(tmp_path / "calendar.csv", text))
    assert problems == []
    assert overrides == [
        Override(date=D(2027, 9, 26), working=True, note=None),
        Override(date=D(2027, 10, 1), working=False, note="国庆节"),
    ]


def test_bad_lines_are_reported_with_file_line_and_field_and_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "calendar.csv",
        "date,kind,note\n"
        "2027-01-01,holiday,元旦\n"  # 2
        "2027-02-30,holiday,\n"  # 3: no such day
        "01/02/2027,holiday,\n"  # 4: ambiguous order, refused
        "2027-02-08,holidy,\n"  # 5: typo
        "2027-02-09,,\n"  # 6: no kind
        ",working,\n"  # 7: no date
        "\n"  # 8: blank, ignored
        "# 2027 from the State Council notice\n"  # 9: comment, ignored
        "2027-02-10,休\n",  # 10: short row, no note: fine
    )
    overrides, problems = load_overrides(path)
    assert [o.date for o in overrides] == [D(2027, 1, 1), D(2027, 2, 10)]
    assert problems == [
        f"{path}:3: date: '2027-02-30' is not a date (YYYY-MM-DD)",
        f"{path}:4: date: '01/02/2027' is not a date (YYYY-MM-DD)",
        f"{path}:5: kind: 'holidy' is not working/holiday (上班/休)",
        f"{path}:6: kind: empty is not working/holiday (上班/休)",
        f"{path}:7: date: empty",
    ]


def test_line_numbers_stay_right_around_a_note_spanning_lines(tmp_path: Path) -> None:
    # A problem is reported at the line its record starts on, and the lines
    # after a quoted multi-line note keep their physical numbers.
    path = write(
        tmp_path / "calendar.csv",
        "date,kind,note\n"
        '2027-01-01,holiday,"元旦,\nNew Year"\n'  # 2-3
        '2027-01-03,"off\nday",\n'  # 4-5
        "2027-01-02,nope,\n",  # 6
    )
    overrides, problems = load_overrides(path)
    assert overrides == [Override(date=D(2027, 1, 1), working=False, note="元旦,\nNew Year")]
    assert problems == [
        f"{path}:4: kind: 'off\\nday' is not working/holiday (上班/休)",
        f"{path}:6: kind: 'nope' is not working/holiday (上班/休)",
    ]


def test_conflicting_lines_for_one_date_are_reported_and_the_later_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path / "calendar.csv",
        "date,kind,note\n2027-01-01,holiday,\n2027-01-01,holiday,元旦\n2027-01-01,working,\n",
    )
    overrides, problems = load_overrides(path)
    assert overrides == [Override(date=D(2027, 1, 1), working=True, note=None)]
    assert problems == [
        f"{path}:4: date: 2027-01-01 is holiday on line 3 and working here; line 4 wins"
    ]


def test_header_without_kind_reads_nothing_and_says_why(tmp_path: Path) -> None:
    path = write(tmp_path / "calendar.csv", "date,type\n2027-01-01,holiday\n")
    assert load_overrides(path) == (
        [],
        [f"{path}:1: header: missing column kind (expected date,kind,note); no overrides read"],
    )


def test_binary_junk_and_a_folder_are_problems_not_tracebacks(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"date,kind\n\xff\xfe\xff\n")
    assert load_overrides(junk) == (
        [],
        [f"{junk}: neither UTF-8 nor GB18030 text; no overrides read"],
    )
    folder = tmp_path / "calendar.csv"
    folder.mkdir()
    overrides, problems = load_overrides(folder)
    assert overrides == [] and len(problems) == 1 and str(folder) in problems[0]


def test_write_then_load_gives_the_same_overrides_sorted_by_date(tmp_path: Path) -> None:
    path = tmp_path / "ws" / "calendar.csv"
    given_overrides = [
        Override(date=D(2027, 10, 1), working=False, note='国庆节, "Golden Week"'),
        Override(date=D(2027, 1, 1), working=False, note=None),
        Override(date=D(2027, 9, 26), working=True, note="调休"),
    ]
    write_overrides(path, given_overrides)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfdate,kind,note\n2027-01-01,holiday,\n")
    assert load_overrides(path) == (sorted(given_overrides, key=lambda o: o.date), [])
    assert [p.name for p in path.parent.iterdir()] == ["calendar.csv"]  # no temp file left
    assert path.stat().st_mode & 0o777 == 0o644  # readable like any workspace file
    path.chmod(0o664)
    add_override(path, Override(date=D(2027, 1, 2), working=False, note=None))
    assert path.stat().st_mode & 0o777 == 0o664


notes = st.one_of(
    st.none(),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))
        | st.just("\n"),
        max_size=12,
    ).map(lambda s: s.strip() or None),
)
overrides_strategy = st.lists(
    st.builds(
        Override,
        date=st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31)),
        working=st.booleans(),
        note=notes,
    ),
    max_size=10,
)


@settings(max_examples=60)
@given(overrides_strategy)
def test_any_overrides_survive_a_write_and_a_load(given_overrides: list[Override]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calendar.csv"
        write_overrides(path, given_overrides)
        last = {o.date: o for o in given_overrides}
        assert load_overrides(path) == ([last[d] for d in sorted(last)], [])


def test_adding_a_date_keeps_every_other_line_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "calendar.csv",
        "# maintained by ops\r\n"
        "日期,类型,备注\r\n"
        "2027-01-01,休,元旦\r\n"
        "2027-13-01,休,typo someone will fix\r\n"
        "2027/2/8,上班,old\r\n",
        "gb18030",
    )
    problems = add_override(path, Override(date=D(2027, 2, 8), working=False, note="春节"))
    assert problems == [f"{path}:4: date: '2027-13-01' is not a date (YYYY-MM-DD)"]
    text = path.read_bytes().decode("utf-8-sig")
    assert text == (
        "# maintained by ops\r\n"
        "日期,类型,备注\r\n"
        "2027-01-01,休,元旦\r\n"
        "2027-13-01,休,typo someone will fix\r\n"
        "2027-02-08,holiday,春节\n"
    )
    overrides, _ = load_overrides(path)
    assert overrides == [
        Override(date=D(2027, 1, 1), working=False, note="元旦"),
        Override(date=D(2027, 2, 8), working=False, note="春节"),
    ]


def test_adding_follows_the_files_column_order(tmp_path: Path) -> None:
    path = write(tmp_path / "calendar.csv", "kind,date\nholiday,2027-01-01")
    assert add_override(path, Override(date=D(2027, 1, 4), working=True, note="ignored")) == []
    assert path.read_bytes().decode("utf-8-sig") == (
        "kind,date\nholiday,2027-01-01\nworking,2027-01-04\n"
    )


def test_adding_to_a_missing_file_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    assert add_override(path, Override(date=D(2027, 1, 1), working=False, note="元旦")) == []
    assert load_overrides(path) == ([Override(date=D(2027, 1, 1), working=False, note="元旦")], [])


def test_a_file_that_cannot_be_edited_safely_is_left_alone(tmp_path: Path) -> None:
    headless = write(tmp_path / "calendar.csv", "2027-01-01,holiday\n")
    with pytest.raises(CalendarFileError, match="header"):
        add_override(headless, Override(date=D(2027, 1, 2), working=False, note=None))
    assert headless.read_text() == "2027-01-01,holiday\n"
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\xff\xfe\xff")
    with pytest.raises(CalendarFileError, match="GB18030"):
        add_override(junk, Override(date=D(2027, 1, 2), working=False, note=None))
    assert junk.read_bytes() == b"\xff\xfe\xff"
