"""Which text a file holds: UTF-8 (with or without BOM) or GB18030, and its lines.

Chinese banks and acquirers export GB18030 (or its subset GBK) as often as
UTF-8. Guessing with a statistical detector is wrong on short or mostly
ASCII files (DEPENDENCIES.md), so the rule is strict: a file that decodes as
UTF-8 is UTF-8. Otherwise it is damaged UTF-8 when most of its non-ASCII
lines are valid UTF-8 (the bad lines are rejected one by one), else GB18030
(lines that still do not decode are rejected one by one). When even that is
hopeless (the header fails, or most lines do) the whole file is rejected.

Two more cases are real: Excel's "Unicode text" export is UTF-16 with a BOM
(read as such, by its BOM); and a file in some other encoding (Big5 from a
Hong Kong bank, a Western code page) is refused with the encoding that
charset-normalizer guesses named, so the user knows what to re-save. The
guess only ever names a refusal; it never decides how a file is read.

DuckDB reads only UTF-8, so anything else is transcoded, streaming, into a
temporary UTF-8 copy. One pass over the bytes also gives the SHA-256 (the
file's identity for "same file twice") and the newline statistics that let
the CSV reader trust DuckDB's record numbers as line numbers.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

__all__ = [
    "BINARY",
    "HEAD_BYTES",
    "FileScan",
    "LineStats",
    "PreparedText",
    "UndecodableFileError",
    "decode_head",
    "guess_encoding",
    "prepare_text",
    "scan_file",
]

CHUNK = 1 << 20
HEAD_BYTES = 64 * 1024
UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
GB18030 = "gb18030"
UTF16 = "utf-16"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
BINARY = "binary"  # a file its format reads as bytes (a spreadsheet, XML, a message log)
_BOM = codecs.BOM_UTF8


class UndecodableFileError(Exception):
    """The file is neither UTF-8 nor GB18030 text, not even mostly."""


@dataclass(frozen=True, slots=True)
class LineStats:
    """Newline counts of a file, enough to know how many physical lines it has.

    ``content_lines`` is the number of lines up to the last one with any byte
    other than a line break: trailing blank lines do not count, because no
    reader makes records of them.
    """

    newlines: int  # b"\n"
    carriage_returns: int  # b"\r"
    crlf: int  # b"\r\n"
    content_lines: int

    @property
    def lone_carriage_returns(self) -> bool:
        """True when some line ends with a bare CR (old Mac style, or junk)."""
        return self.carriage_returns != self.crlf


@dataclass(frozen=True, slots=True)
class FileScan:
    sha256: str
    size: int
    utf8_valid: bool
    has_bom: bool
    head: bytes
    lines: LineStats


def scan_file(path: Path, *, progress: Callable[[int], None] | None = None) -> FileScan:
    """Read ``path`` once: its SHA-256, whether it is valid UTF-8, and its line counts.

    ``progress`` is called with the number of bytes read so far.
    """
    sha = hashlib.sha256()
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder(UTF8)("strict")
    newlines = crs = crlf = 0
    trailing_newlines = 0  # newlines in the run of line breaks at the end
    has_content = False
    head = b""
    size = 0
    prev_cr = False
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder = None
            n = chunk.count(b"\n")
            newlines += n
            crs += chunk.count(b"\r")
            crlf += chunk.count(b"\r\n") + (1 if prev_cr and chunk[:1] == b"\n" else 0)
            prev_cr = chunk[-1:] == b"\r"
            body = chunk.rstrip(b"\r\n")
            if body:
                has_content = True
                trailing_newlines = chunk.count(b"\n", len(body))
            else:
                trailing_newlines += n
            size += len(chunk)
            if progress is not None:
                progress(size)
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    content_lines = newlines - trailing_newlines + 1 if has_content else 0
    return FileScan(
        sha256=sha.hexdigest(),
        size=size,
        utf8_valid=decoder is not None,
        has_bom=head.startswith(_BOM),
        head=head,
        lines=LineStats(newlines, crs, crlf, content_lines),
    )


def decode_head(head: bytes, *, utf8_valid: bool) -> tuple[str, str] | None:
    """The start of a file as text and the encoding it was read with, for detection.

    The head may end inside a multi-byte character, so it is decoded
    incrementally (an incomplete tail is simply left out). A head that is
    neither encoding is not text we can recognise.
    """
    candidates: tuple[str, ...] = (UTF8, GB18030) if utf8_valid else (GB18030, UTF8)
    if head.startswith(_UTF16_BOMS):
        candidates = (UTF16,)
    for encoding in candidates:
        try:
            text = codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if encoding == UTF8 and text.startswith("\ufeff"):
            return text[1:], UTF8_BOM
        return text, encoding
    return None


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A file ready for a UTF-8 reader.

    Attributes:
        data_path: the file itself, or a temporary UTF-8 copy (``is_copy``).
        encoding: what the original was: ``utf-8``, ``utf-8-sig`` or ``gb18030``.
        bad_lines: physical lines (1-based) that did not decode and were
            replaced in the copy; their rows must be rejected.
        lines: the copy's newline counts when the original's are not its
            lines (UTF-16, whose characters contain newline bytes); else None.
    """

    data_path: Path
    encoding: str
    bad_lines: frozenset[int]
    is_copy: bool
    lines: LineStats | None = None  # the copy's own, when the original's bytes mislead


def prepare_text(path: Path, scan: FileScan, *, workdir: Path) -> PreparedText:
    """Make ``path`` readable as UTF-8, copying into ``workdir`` only when needed.

    A file that is not valid UTF-8 is either GB18030 or damaged UTF-8, and
    the two cannot be told apart by trying GB18030: UTF-8 Chinese text with
    one broken byte still decodes as GB18030, into nonsense. So the lines
    with non-ASCII bytes are sampled: when most of them are valid UTF-8, the
    file is UTF-8 with some damaged lines (rejected one by one); otherwise it
    is GB18030.

    Raises:
        UndecodableFileError: neither encoding makes sense of the file.
    """
    if scan.utf8_valid:
        return PreparedText(path, UTF8_BOM if scan.has_bom else UTF8, frozenset(), False)
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "transcoded.csv"
    if scan.head.startswith(_UTF16_BOMS):
        return _transcode_utf16(path, copy)
    if _mostly_utf8(path):
        return _salvage(path, copy, UTF8)
    try:
        with (
            path.open(encoding=GB18030, errors="strict", newline="") as src,
            copy.open("w", encoding=UTF8, newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, CHUNK)
    except UnicodeDecodeError:
        copy.unlink(missing_ok=True)
        return _salvage(path, copy, GB18030)
    return PreparedText(copy, GB18030, frozenset(), True)


def _transcode_utf16(path: Path, copy: Path) -> PreparedText:
    """A UTF-16 file (its BOM says which order) as a UTF-8 copy; damage refuses it whole.

    UTF-16 is not line-safe (a cut byte shifts every following character),
    so there is no line-by-line salvage as for UTF-8 and GB18030.
    """
    try:
        with (
            path.open(encoding=UTF16, errors="strict", newline="") as src,
            copy.open("w", encoding=UTF8, newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, CHUNK)
    except UnicodeError as exc:
        copy.unlink(missing_ok=True)
        raise UndecodableFileError(f"not valid UTF-16: {exc}") from exc
    return PreparedText(copy, UTF16, frozenset(), True, lines=scan_file(copy).lines)


_CHAOS = 10.0


def guess_encoding(head: bytes) -> str | None:
    """The encoding charset-normalizer believes ``head`` is in, to name in a refusal.

    Only a clean guess counts (little "chaos", charset-normalizer's measure of
    implausible text; short Big5 files score 5 %); binary data gets None.
    """
    best = charset_normalizer.from_bytes(head).best()
    if best is None or best.percent_chaos > _CHAOS or best.encoding in ("ascii", "utf_8"):
        return None
    return str(best.encoding)


_SAMPLE_LINES = 2000


def _mostly_utf8(path: Path) -> bool:
    """Whether most of the first lines with non-ASCII bytes are valid UTF-8.

    Valid multi-byte UTF-8 is very unlikely to arise by chance in GB18030
    text, so a majority of such lines means the file was written as UTF-8.
    """
    valid = invalid = 0
    for line in _physical_lines(path):
        if line.isascii():
            continue
        if _bad(line, UTF8):
            invalid += 1
        else:
            valid += 1
        if valid + invalid >= _SAMPLE_LINES:
            break
    return valid > invalid


# A physical line ends at \n, \r\n or a lone \r (Python's universal newlines,
# which the fallback CSV reader uses for its line numbers).
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def _physical_lines(path: Path) -> Iterator[bytes]:
    """The file's physical lines, each with its line break, streaming.

    Iterating a binary file splits at b"\n" only, so a CRLF is never cut;
    each piece is split again at lone CRs.
    """
    with path.open("rb") as f:
        for piece in f:
            start = 0
            for m in _LINE_BREAK.finditer(piece):
                yield piece[start : m.end()]
                start = m.end()
            if start < len(piece):
                yield piece[start:]


def _bad(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return True
    return False


def _salvage(path: Path, copy: Path, encoding: str) -> PreparedText:
    """The damaged-file path: keep the lines that decode, mark the others.

    Rare by nature (a file cut mid-character, two exports concatenated), so
    it works line by line in Python; a healthy file never comes here. The
    copy keeps every line (an undecodable one with replacement characters)
    so that line numbers stay true.
    """
    total = 0
    bad: list[int] = []
    for i, ln in enumerate(_physical_lines(path), 1):
        total = i
        if _bad(ln, encoding):
            bad.append(i)
    if total == 0 or 1 in bad or len(bad) * 2 > total:
        raise UndecodableFileError(f"{len(bad)} of {total} lines are not valid {encoding.upper()}")
    with copy.open("w", encoding=UTF8, newline="") as dst:
        for i, ln in enumerate(_physical_lines(path), 1):
            text = ln.decode(encoding, errors="replace")
            if i == 1 and text.startswith("\ufeff"):
                text = text[1:]
            dst.write(text)
    return PreparedText(copy, encoding, frozenset(bad), True)
