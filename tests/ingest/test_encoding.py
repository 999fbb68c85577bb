from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from daozhang.ingest.encoding import (
    GB18030,
    UTF8,
    UTF8_BOM,
    UTF16,
    UndecodableFileError,
    decode_head,
    guess_encoding,
    prepare_text,
    scan_file,
)

CHINESE = "账号,户名,金额\n6222000011112222,上海某某餐饮有限公司,1234.50\n"


def _write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_scan_gives_the_sha256_the_user_would_compute(tmp_path: Path) -> None:
    data = CHINESE.encode() * 1000
    p = _write(tmp_path, data)
    scan = scan_file(p)
    assert scan.sha256 == hashlib.sha256(data).hexdigest()
    assert scan.size == len(data)
    assert scan.utf8_valid and not scan.has_bom


def test_scan_counts_lines_and_ignores_trailing_blank_ones(tmp_path: Path) -> None:
    p = _write(tmp_path, b"h\r\n1\r\n2\r\n\r\n\n")
    lines = scan_file(p).lines
    assert lines.newlines == 5 and lines.crlf == 4 and lines.carriage_returns == 4
    assert lines.content_lines == 3
    assert not lines.lone_carriage_returns


def test_a_last_line_without_newline_still_counts(tmp_path: Path) -> None:
    assert scan_file(_write(tmp_path, b"h\n1\n2")).lines.content_lines == 3


def test_old_mac_line_ends_are_noticed(tmp_path: Path) -> None:
    assert scan_file(_write(tmp_path, b"h\r1\r2\r")).lines.lone_carriage_returns


def test_crlf_split_across_read_chunks_is_still_one_line_end(tmp_path: Path) -> None:
    from daozhang.ingest import encoding

    data = b"x" * (encoding.CHUNK - 1) + b"\r\n" + b"y\r\n"
    lines = scan_file(_write(tmp_path, data)).lines
    assert lines.crlf == 2 and not lines.lone_carriage_returns


def test_utf8_with_bom_is_read_in_place(tmp_path: Path) -> None:
    p = _write(tmp_path, b"\xef\xbb\xbf" + CHINESE.encode())
    scan = scan_file(p)
    prepared = prepare_text(p, scan, workdir=tmp_path / "work")
    assert scan.has_bom and prepared.encoding == UTF8_BOM
    assert prepared.data_path == p and not prepared.is_copy


def test_gb18030_from_chinese_excel_is_transcoded_to_utf8(tmp_path: Path) -> None:
    p = _write(tmp_path, CHINESE.encode(GB18030))
    scan = scan_file(p)
    assert not scan.utf8_valid
    prepared = prepare_text(p, scan, workdir=tmp_path / "work")
    assert prepared.encoding == GB18030 and prepared.is_copy
    assert prepared.data_path.read_text(encoding="utf-8") == CHINESE


def test_a_utf8_file_with_one_damaged_line_keeps_the_other_lines(tmp_path: Path) -> None:
    good = "商户,金额\n" + "".join(f"上海{i},1.00\n" for i in range(10))
    data = good.encode() + b"\xe4\xb8broken,2.00\n" + "北京,3.00\n".encode()
    p = _write(tmp_path, data)
    prepared = prepare_text(p, scan_file(p), workdir=tmp_path / "work")
    assert prepared.encoding == UTF8
    assert prepared.bad_lines == frozenset({12})
    assert prepared.data_path.read_text(encoding="utf-8").splitlines()[12] == "北京,3.00"


def test_binary_junk_is_rejected_as_a_whole(tmp_path: Path) -> None:
    data = bytes(range(128, 256)) * 50
    p = _write(tmp_path, data)
    with pytest.raises(UndecodableFileError):
        prepare_text(p, scan_file(p), workdir=tmp_path / "work")


def test_head_cut_inside_a_character_still_decodes(tmp_path: Path) -> None:
    head = ("金额" * 10).encode()[:-1]  # the last character is cut in half
    decoded = decode_head(head, utf8_valid=True)
    assert decoded is not None and decoded[0] == "金额" * 9 + "金"


def test_head_of_a_gb18030_file_is_decoded_as_gb18030() -> None:
    decoded = decode_head(CHINESE.encode(GB18030), utf8_valid=False)
    assert decoded == (CHINESE, GB18030)


def test_excel_unicode_text_export_is_utf16_and_read_by_its_bom(tmp_path: Path) -> None:
    """Excel's "Unicode text" save is UTF-16LE with a BOM and tabs between cells."""
    text = CHINESE.replace(",", "\t").replace("\n", "\r\n")
    p = _write(tmp_path, text.encode("utf-16"))
    scan = scan_file(p)
    decoded = decode_head(scan.head, utf8_valid=scan.utf8_valid)
    assert decoded is not None and decoded[1] == UTF16 and decoded[0] == text
    prepared = prepare_text(p, scan, workdir=tmp_path / "work")
    assert prepared.encoding == UTF16 and prepared.is_copy
    assert prepared.data_path.read_bytes().decode("utf-8") == text
    assert prepared.lines is not None and prepared.lines.content_lines == 2


def test_a_cut_utf16_file_is_refused_as_a_whole(tmp_path: Path) -> None:
    p = _write(tmp_path, CHINESE.encode("utf-16")[:-1])
    with pytest.raises(UndecodableFileError, match="UTF-16"):
        prepare_text(p, scan_file(p), workdir=tmp_path / "work")


def test_a_big5_file_is_named_as_such_so_the_user_knows_what_to_resave() -> None:
    big5 = ("交易日期,金額,餘額\n2026-01-01,100.00,200.00\n商戶入賬,銀聯\n" * 5).encode("big5")
    assert guess_encoding(big5) == "big5"  # it still "decodes" as GB18030, into nonsense
    assert guess_encoding(bytes(range(256)) * 20) is None
