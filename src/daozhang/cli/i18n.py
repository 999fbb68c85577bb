"""The command line's own words, Chinese first; and the language a user gets by default."""

from __future__ import annotations

import os

__all__ = ["default_lang", "say"]


def default_lang() -> str:
    """``en`` when the locale asks for English, else ``zh`` (also when it is unknown)."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


_WORDS: dict[str, tuple[str, str]] = {
    "type": ("类型", "Type"),
    "merchant": ("商户", "Merchant"),
    "key": ("标识", "Key"),
    "amount": ("涉及金额", "At stake"),
    "explanation": ("发生了什么", "What happened"),
    "next_action": ("下一步", "Next step"),
    "due": ("期限", "Due"),
    "status": ("状态", "Status"),
    "resolution": ("解决情况", "Resolution"),
    "no_exceptions": ("没有未解决的异常。", "No open exceptions."),
    "exceptions_total": (
        "共 {n} 个异常，涉及金额 {amount} 元。",
        "{n} exceptions, {amount} yuan at stake.",
    ),
    "run_done": (
        "对账完成（第 {run} 次，截至 {as_of}）：发现 {found} 个异常；"
        "新增 {opened}，变化 {changed}，重新打开 {reopened}，已解决 {resolved}。",
        "Reconcile run {run} as of {as_of}: {found} exceptions; "
        "{opened} new, {changed} changed, {reopened} reopened, {resolved} resolved.",
    ),
    "by_type": ("按类型", "By type"),
    "bad_account": (
        "--account 的账号 {value!r} 不像账号：只能有数字、字母和短横线，最长 40 位。",
        "--account {value!r} is not an account number: digits, letters and dashes, at most 40.",
    ),
    "account_used": (
        "{path}：文件没有写账号，{n} 笔流水记到了账号 {account}。",
        "{path}: the file names no account; {n} entries were booked to account {account}.",
    ),
    "account_unknown": (
        "{path}：文件没有写账号，{n} 笔流水暂记在占位账号下（如“未知账号-农业银行”），"
        "对不上合同里的结算账户。请在第一次导入这类文件时用 --account 给出账号。",
        "{path}: the file names no account; {n} entries are under a placeholder account"
        " (such as 未知账号-农业银行) that matches no contract. Give the account with --account"
        " the first time such a file is imported.",
    ),
    "account_not_again": (
        "{path}：这个文件以前已导入过，--account 不会改动已导入的流水。",
        "{path}: this file was imported before; --account does not change entries already in.",
    ),
    "account_unused": (
        "没有用到 --account {account}：导入的文件都写明了自己的账号，或不是银行流水。",
        "--account {account} was not used: every file named its own account or was not"
        " a bank statement.",
    ),
    "count": ("数量", "Count"),
    "warning": ("注意", "Warning"),
    "file": ("文件", "File"),
    "format": ("识别为", "Recognised as"),
    "rows_imported": ("导入", "Imported"),
    "rows_duplicate": ("已导入过", "Already in"),
    "rows_rejected": ("拒收", "Rejected"),
    "line": ("行", "Line"),
    "field": ("字段", "Field"),
    "reason": ("原因", "Reason"),
    "value": ("值", "Value"),
    "no_rejects": ("没有被拒收的行。", "No rejected rows."),
    "report_title": (
        "{date} 资金到账日报（到账情况截至 {as_of}）",
        "Daily report for {date} (arrivals as of {as_of})",
    ),
    "sales": ("销售", "Sales"),
    "refunds": ("退货", "Refunds"),
    "settled": ("已结算", "Settled"),
    "fee": ("手续费", "Fees"),
    "net": ("应到账", "Net due"),
    "paid_out": ("已出款", "Paid out"),
    "arrived": ("已到账", "Arrived"),
    "outstanding": ("未到账", "Outstanding"),
    "open": ("异常", "Open"),
    "total": ("合计", "Total"),
    "evidence": ("证据", "Evidence"),
    "history": ("处理记录", "History"),
    "not_found": ("找不到编号为 {id} 的异常。", "No exception with id {id}."),
}


def say(key: str, lang: str, **kw: object) -> str:
    """The word for ``key`` in ``lang``, formatted with ``kw``."""
    zh, en = _WORDS[key]
    text = zh if lang == "zh" else en
    return text.format(**kw) if kw else text
