"""Rows and files set aside on import: what was wrong, where, in two languages.

A problem in a user's file is data, not a Python exception: every stage
collects :class:`Reject` values and the import goes on with the good rows.
Each reject names a *code* from :class:`RejectCode`; the sentence shown to a
person is rendered from a template table in Chinese and English
(:data:`REJECT_MESSAGES`), because our users read Chinese first and the
English reason is what ends up in logs and bug reports.

Card numbers never leave this module unmasked: :func:`mask_pans` hides every
long run of digits (13 or more, spaces and dashes allowed between them) in
any text a reject carries, keeping the first 6 and last 4 digits.

>>> mask_pans("card 6228 4800 1234 5678, amount 12.00")
'card 622848******5678, amount 12.00'
>>> r = make_reject(RejectCode.BAD_AMOUNT, path="pos.csv", line=7, field="amount", value="12.345")
>>> r.reason
'amount: not an amount in yuan with at most two decimals: 12.345'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "NOTICES",
    "REJECT_MESSAGES",
    "Reject",
    "RejectCode",
    "make_reject",
    "mask_pans",
    "reject_messages",
]


class RejectCode(StrEnum):
    """Why a file or a row was not imported. The strings are stored in the database."""

    # whole file
    UNRECOGNISED_FORMAT = "unrecognised_format"
    UNDECODABLE_FILE = "undecodable_file"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    EMPTY_FILE = "empty_file"
    DUPLICATE_HEADER = "duplicate_header"
    UNREADABLE_FILE = "unreadable_file"
    # ZIP files (service/archives.py): a member, or the ZIP as a whole
    ARCHIVE_DAMAGED = "archive_damaged"
    ARCHIVE_ENCRYPTED = "archive_encrypted"
    ARCHIVE_UNSAFE_MEMBER = "archive_unsafe_member"
    ARCHIVE_TOO_LARGE = "archive_too_large"
    # one row, as read
    WRONG_FIELD_COUNT = "wrong_field_count"
    BAD_QUOTING = "bad_quoting"
    UNDECODABLE_ROW = "undecodable_row"
    LINE_TOO_LONG = "line_too_long"
    UNREADABLE_ROW = "unreadable_row"
    # bank statements (camt.05x, MT940/MT942)
    FORBIDDEN_XML = "forbidden_xml"
    NOT_BOOKED = "not_booked"
    INTERIM_ENTRY = "interim_entry"
    BALANCE_MISMATCH = "balance_mismatch"
    # ISO 8583 message logs
    BAD_MESSAGE = "bad_message"
    ORPHAN_MESSAGE = "orphan_message"
    UNSUPPORTED_MESSAGE = "unsupported_message"
    # one field of a row, when normalised
    REQUIRED = "required"
    BAD_AMOUNT = "bad_amount"
    AMOUNT_DECIMALS = "amount_decimals"
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
    NEGATIVE_AMOUNT = "negative_amount"
    BAD_PERCENT = "bad_percent"
    PERCENT_DECIMALS = "percent_decimals"
    BAD_DATE = "bad_date"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_TIME = "bad_time"
    BAD_ENUM = "bad_enum"
    BAD_INTEGER = "bad_integer"
    BAD_CURRENCY = "bad_currency"
    BAD_CARD = "bad_card"
    END_BEFORE_START = "end_before_start"
    # column-mapping profiles (ingest/mapped.py)
    HEADER_NOT_FOUND = "header_not_found"
    BAD_DATE_FORMAT = "bad_date_format"
    BAD_DIRECTION = "bad_direction"
    BOTH_AMOUNTS = "both_amounts"
    BALANCE_BREAK = "balance_break"
    # WeChat Pay and Alipay bills (ingest/bills.py)
    SUMMARY_MISMATCH = "summary_mismatch"
    SUMMARY_MISSING = "summary_missing"
    NOT_SETTLED = "not_settled"
    NEUTRAL_ENTRY = "neutral_entry"
    ID_AS_NUMBER = "id_as_number"
    # the uploader's organisation
    NOT_IN_ORGANISATION = "not_in_organisation"


# Findings about a row that set nothing aside: the row is imported and the
# reject, stored and listed like any other, says what to check (a running
# balance that breaks means an entry may be missing between two rows).
NOTICES: frozenset[RejectCode] = frozenset({RejectCode.BALANCE_BREAK, RejectCode.BALANCE_MISMATCH})

# code -> (Chinese, English). Placeholders: {field}, {value} (the offending
# value, masked) and {detail} (a language-neutral parameter: allowed values,
# the closest formats, a count). Every template must use only these three.
REJECT_MESSAGES: dict[RejectCode, tuple[str, str]] = {
    RejectCode.UNRECOGNISED_FORMAT: (
        "无法识别的文件格式；最接近的格式及其缺少的列：{detail}",
        "not a recognised file format; the closest formats and the columns they miss: {detail}",
    ),
    RejectCode.UNDECODABLE_FILE: (
        "文件既不是 UTF-8 也不是 GB18030 编码的文本，无法读取",
        "the file is neither UTF-8 nor GB18030 text and cannot be read",
    ),
    RejectCode.UNSUPPORTED_ENCODING: (
        "文件看起来是 {detail} 编码的文本；请另存为 UTF-8 或 GB18030 后再导入",
        "the file looks like {detail} text; save it as UTF-8 or GB18030 and import it again",
    ),
    RejectCode.EMPTY_FILE: ("文件是空的，没有表头", "the file is empty: no header row"),
    RejectCode.DUPLICATE_HEADER: (
        "表头中 {value} 列出现了不止一次",
        "the header names column {value} more than once",
    ),
    RejectCode.UNREADABLE_FILE: ("无法读取文件：{detail}", "the file could not be read: {detail}"),
    RejectCode.ARCHIVE_DAMAGED: (
        "ZIP 文件或其中的这个文件已损坏，无法解开（{detail}）",
        "the ZIP file, or this file inside it, is damaged and cannot be unpacked ({detail})",
    ),
    RejectCode.ARCHIVE_ENCRYPTED: (
        "ZIP 中的这个文件有密码，无法读取；请解压后导入",
        "this file inside the ZIP is encrypted and cannot be read; unpack it and import it",
    ),
    RejectCode.ARCHIVE_UNSAFE_MEMBER: (
        "ZIP 中的链接或不安全的文件名（指向 ZIP 之外），已跳过",
        "a link or an unsafe name inside the ZIP (pointing outside it), skipped",
    ),
    RejectCode.ARCHIVE_TOO_LARGE: (
        "ZIP 解开后过大（{detail}），可能是恶意文件；其中的文件都没有导入",
        "the ZIP unpacks to too much ({detail}), maybe a ZIP bomb; none of its files were imported",
    ),
    RejectCode.WRONG_FIELD_COUNT: (
        "这一行有 {value} 个字段，表头有 {detail} 个",
        "this row has {value} fields, the header has {detail}",
    ),
    RejectCode.BAD_QUOTING: (
        "引号不配对（缺少结束引号，或引号出现在未加引号的字段中间）",
        "unbalanced quotes (an unterminated quote, or a quote inside an unquoted field)",
    ),
    RejectCode.UNDECODABLE_ROW: (
        "这一行含有不能按 {detail} 解码的字节",
        "this row has bytes that are not valid {detail}",
    ),
    RejectCode.LINE_TOO_LONG: ("这一行太长，无法读取", "this row is too long to read"),
    RejectCode.UNREADABLE_ROW: ("这一行无法读取：{detail}", "this row could not be read: {detail}"),
    RejectCode.FORBIDDEN_XML: (
        "XML 文件含有文档类型定义（DTD）或实体声明，出于安全原因拒绝读取：{detail}",
        "the XML file declares a DTD or entities, which are refused for safety: {detail}",
    ),
    RejectCode.NOT_BOOKED: (
        "这笔流水尚未记账（状态 {value}），不是已到账的资金，未导入；请以银行记账后的对账单为准",
        "entry not booked (status {value}): not money that arrived, so it was set aside; "
        "the statement that books it is the one to import",
    ),
    RejectCode.INTERIM_ENTRY: (
        "这笔流水来自日间报告（{detail}），尚未出现在日终对账单上，未导入；请导入当天的日终对账单",
        "entry from an interim report ({detail}), not yet on an end-of-day statement, so it "
        "was set aside; import the day's end-of-day statement",
    ),
    RejectCode.BALANCE_MISMATCH: (
        "期初余额加上本对账单各笔流水不等于期末余额（{detail}）；流水已导入，请向银行核实对账单是否完整",
        "opening balance plus the entries does not equal the closing balance ({detail}); the "
        "entries were imported, check with the bank that the statement is complete",
    ),
    RejectCode.BAD_MESSAGE: (
        "这条报文无法解码：{detail}",
        "this message could not be decoded: {detail}",
    ),
    RejectCode.ORPHAN_MESSAGE: (
        "报文在本日志中找不到所属的交易（可能在另一份日志中）：{detail}",
        "no transaction for this message in this log (it may be in another log): {detail}",
    ),
    RejectCode.UNSUPPORTED_MESSAGE: (
        "不支持的交易类型，未导入，请人工核对：{detail}",
        "a transaction type daozhang does not read; set aside for a person to check: {detail}",
    ),
    RejectCode.REQUIRED: ("必填字段 {field} 是空的", "{field}: required but empty"),
    RejectCode.BAD_AMOUNT: (
        "{field} 不是以元为单位、最多两位小数的金额：{value}",
        "{field}: not an amount in yuan with at most two decimals: {value}",
    ),
    RejectCode.AMOUNT_DECIMALS: (
        "{field} 的小数超过两位（分以下不能四舍五入）：{value}",
        "{field}: more than two decimals (we do not round below the fen): {value}",
    ),
    RejectCode.AMOUNT_OUT_OF_RANGE: (
        "{field} 金额过大：{value}",
        "{field}: amount too large to be real: {value}",
    ),
    RejectCode.NEGATIVE_AMOUNT: (
        "{field} 不能是负数：{value}",
        "{field}: must not be negative: {value}",
    ),
    RejectCode.BAD_PERCENT: (
        "{field} 不是百分比费率（例如 0.38 或 0.38%）：{value}",
        "{field}: not a rate in percent (like 0.38 or 0.38%): {value}",
    ),
    RejectCode.PERCENT_DECIMALS: (
        "{field} 的费率精度超过万分之一个百分点：{value}",
        "{field}: a rate finer than four decimals of a percent: {value}",
    ),
    RejectCode.BAD_DATE: (
        "{field} 不是 YYYY-MM-DD 格式的有效日期：{value}",
        "{field}: not a valid date as YYYY-MM-DD: {value}",
    ),
    RejectCode.BAD_TIMESTAMP: (
        "{field} 不是 ISO 8601 格式的有效时间（例如 2026-03-01T14:05:09）：{value}",
        "{field}: not a valid ISO 8601 time (like 2026-03-01T14:05:09): {value}",
    ),
    RejectCode.BAD_TIME: (
        "{field} 不是 HH:MM 格式的时刻：{value}",
        "{field}: not a time of day as HH:MM: {value}",
    ),
    RejectCode.BAD_ENUM: (
        "{field} 的值 {value} 不在允许的取值中（{detail}）",
        "{field}: {value} is not one of {detail}",
    ),
    RejectCode.BAD_INTEGER: (
        "{field} 不是正整数：{value}",
        "{field}: not a positive whole number: {value}",
    ),
    RejectCode.BAD_CURRENCY: (
        "{field} 不是三个字母的币种代码（例如 CNY）：{value}",
        "{field}: not a three-letter currency code (like CNY): {value}",
    ),
    RejectCode.BAD_CARD: (
        "{field} 既不是卡号也不是掩码卡号：{value}",
        "{field}: neither a card number nor a masked card number: {value}",
    ),
    RejectCode.END_BEFORE_START: (
        "{field} 早于开始时间：{value}",
        "{field}: earlier than the start: {value}",
    ),
    RejectCode.HEADER_NOT_FOUND: (
        "找不到表头行：应有这些列 {detail}",
        "no header row found: the columns expected are {detail}",
    ),
    RejectCode.BAD_DATE_FORMAT: (
        "{field} 不是 {detail} 格式的有效日期或时间：{value}",
        "{field}: not a valid date or time as {detail}: {value}",
    ),
    RejectCode.BAD_DIRECTION: (
        "{field} 的借贷方向 {value} 既不是收入也不是支出（{detail}）",
        "{field}: the direction {value} is neither credit nor debit ({detail})",
    ),
    RejectCode.BOTH_AMOUNTS: (
        "{field} 的收入和支出两列都有金额，无法判断方向：{value}",
        "{field}: both the income and the expense column hold an amount: {value}",
    ),
    RejectCode.BALANCE_BREAK: (
        "余额不连续：按相邻一笔的余额和本笔金额应为 {detail}，文件中为 {value}；"
        "两笔之间可能缺了交易（本行照常导入）",
        "the running balance breaks: the neighbouring balance and this amount give {detail}, "
        "the file says {value}; a row may be missing in between (this row was imported)",
    ),
    RejectCode.SUMMARY_MISMATCH: (
        "汇总行的“{field}”是 {value}，而明细行合计是 {detail}："
        "账单可能不完整或被改动过，明细行已照常导入",
        "the summary's {field} is {value} but the detail rows add up to {detail}: the bill may be "
        "incomplete or altered; the detail rows were imported as they are",
    ),
    RejectCode.SUMMARY_MISSING: (
        "账单没有汇总行（文件可能被截断），无法确认明细完整，整个文件未导入",
        "the bill has no summary (the file may be cut short), so its detail cannot be checked "
        "as complete; nothing of it was imported",
    ),
    RejectCode.NOT_SETTLED: (
        "这一行不是已完成的收款、付款或退款（状态：{value}），未导入",
        "this row is not a completed payment or refund (status {value}); not imported",
    ),
    RejectCode.NEUTRAL_ENTRY: (
        "这笔记录收/支为“{value}”（不计收支：充值、提现、理财、退款等在自己账户之间的转移），"
        "不是这个账户的收入或支出，未作为流水导入",
        "this entry is neither income nor expense ({value}: a top-up, withdrawal, investment or "
        "refund between the owner's own accounts); not imported as an account entry",
    ),
    RejectCode.ID_AS_NUMBER: (
        "{field} 在表格里被存成了数字（{value}），位数已丢失；请用原始 CSV 账单导入",
        "{field} was stored as a number in the spreadsheet ({value}) and its digits are lost; "
        "import the original CSV bill instead",
    ),
    RejectCode.NOT_IN_ORGANISATION: (
        "{field} {value} 不属于您所在机构的商户，此行未导入",
        "{field} {value} is not one of your organisation's merchants; the row was not imported",
    ),
}

# 13 or more digits, optionally separated by single spaces or dashes
# ("6228 4800 1234 5678"), not glued to further digits.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,}(?![0-9])")


def _mask_run(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9]", "", match.group(0))
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_pans(text: str) -> str:
    """``text`` with every run of 13+ digits masked to its first 6 and last 4 digits.

    Why so broad: a card number may sit in any column of a malformed row, and
    a reject's text is shown and stored. A 15-digit merchant number is masked
    too; the line number still leads the user to the row.
    """
    return _DIGIT_RUN.sub(_mask_run, text)


def _mask_opt(text: str | None) -> str | None:
    return None if text is None else mask_pans(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """One problem: a whole file (``line`` None) or one row (and maybe one field).

    Attributes:
        path: the file as the user named it.
        line: the physical line where the row starts (1 = the header); None
            for a problem with the whole file.
        field: the canonical field that failed, or None for a row or file problem.
        value: the offending value, card numbers masked.
        code: what went wrong, a :class:`RejectCode`.
        reason: the English sentence (rendered from the code).
        raw: the row as read, card numbers masked.
        detail: the template parameter that is neither a field nor a value
            (allowed values, expected count, closest formats).
    """

    path: str
    line: int | None
    field: str | None
    value: str | None
    code: RejectCode
    reason: str
    raw: str | None
    detail: str | None = None

    def messages(self) -> tuple[str, str]:
        """The reason in Chinese and in English."""
        return reject_messages(self.code, field=self.field, value=self.value, detail=self.detail)


def reject_messages(
    code: str, *, field: str | None, value: str | None, detail: str | None
) -> tuple[str, str]:
    """Render the (Chinese, English) sentences for a reject code.

    An unknown code (from a newer version of the program, say) still renders,
    as the code itself, rather than failing the listing.
    """
    params = {
        "field": field or "",
        "value": mask_pans(value) if value is not None else "",
        "detail": mask_pans(detail) if detail is not None else "",
    }
    try:
        zh, en = REJECT_MESSAGES[RejectCode(code)]
    except ValueError:
        return code, code
    return zh.format(**params), en.format(**params)


def make_reject(
    code: RejectCode,
    *,
    path: str,
    line: int | None = None,
    field: str | None = None,
    value: str | None = None,
    raw: str | None = None,
    detail: str | None = None,
) -> Reject:
    """A :class:`Reject` with its English reason rendered and every text masked."""
    value, raw, detail = _mask_opt(value), _mask_opt(raw), _mask_opt(detail)
    _, en = reject_messages(code, field=field, value=value, detail=detail)
    return Reject(
        path=path,
        line=line,
        field=field,
        value=value,
        code=code,
        reason=en,
        raw=raw,
        detail=detail,
    )
