"""Every exception in plain words, Chinese first, English too.

The rules record typed facts (see ``classify/base.py``: ``exp_fen``,
``act_date``, ``t1``...); this module writes them as a shop owner would say
them, and names the next step from the playbook. Nothing here decides
anything: change the words freely, never the facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from daozhang.classify.data import failure_codes, playbook
from daozhang.domain.findings import ExceptionType
from daozhang.domain.money import format_yuan
from daozhang.domain.response_codes import describe_code

__all__ = ["LANGS", "Lang", "explain", "next_action", "title"]

Lang = str  # "zh" | "en"
LANGS = ("zh", "en")
Facts = Mapping[str, str | int | None]

_CHANNEL = {
    "debit_card": ("借记卡", "debit card"),
    "credit_card": ("信用卡", "credit card"),
    "wechat": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "unionpay_qr": ("银联二维码", "UnionPay QR"),
}
_TXN = {
    "sale": ("消费", "sale"),
    "refund": ("退货", "refund"),
    "void": ("撤销", "void"),
    "preauth_complete": ("预授权完成", "pre-authorisation completion"),
}
_RESULT = {
    "declined": ("被拒绝", "declined"),
    "timeout": ("超时失败", "timed out"),
    "reversed": ("已冲正", "reversed"),
    "reversal_unconfirmed": ("已发起冲正但未获确认", "had a reversal that was never confirmed"),
}
_REASON = {
    "unpaid_fee": ("欠缴费用", "unpaid fees"),
    "agreement_violation": ("违反商户协议", "a breach of the merchant agreement"),
    "risk_review": ("风险核查", "a risk review"),
    "system_fault": ("系统故障", "a system fault"),
    "other": ("其他原因", "another reason"),
}
_TITLES = {
    ExceptionType.MISSING_IN_SETTLEMENT: ("交易未结算", "Sale not settled"),
    ExceptionType.DEBITED_BUT_FAILED: ("显示失败但已扣款", "Failed on the POS, yet charged"),
    ExceptionType.UNKNOWN_SETTLEMENT: ("不明结算", "Settlement with no sale"),
    ExceptionType.AMOUNT_MISMATCH: ("结算金额不符", "Settled amount differs"),
    ExceptionType.FEE_MISMATCH: ("手续费不符", "Fee differs from the contract"),
    ExceptionType.DUPLICATE_SETTLEMENT: ("重复结算", "Settled twice"),
    ExceptionType.MERCHANT_MISMATCH: ("商户名称或MCC不符（跳码）", "Merchant name or MCC differs"),
    ExceptionType.LATE_SETTLEMENT: ("结算延迟", "Settled late"),
    ExceptionType.PAYOUT_TOTAL_MISMATCH: ("出款金额不符", "Payout total differs"),
    ExceptionType.PAYOUT_FAILED_RETRYABLE: ("出款失败（可重试）", "Payout failed, can be retried"),
    ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED: (
        "出款失败（需处理账户）",
        "Payout failed, account needs fixing",
    ),
    ExceptionType.SETTLED_NOT_ARRIVED: ("已出款未到账", "Paid out, not arrived"),
    ExceptionType.ARRIVED_LATE: ("到账延迟", "Arrived late"),
    ExceptionType.MISROUTED_PAYOUT: ("出款账户错误", "Paid to the wrong account"),
    ExceptionType.UNMATCHED_CREDIT: ("不明入账", "Credit from an acquirer with no payout"),
    ExceptionType.TERMINAL_SUSPENDED: ("终端停机", "Terminal suspended"),
    ExceptionType.ACTIVITY_ON_SUSPENDED_TERMINAL: (
        "停机终端仍有交易",
        "Payments on a suspended terminal",
    ),
    ExceptionType.REFUND_WITHOUT_SALE: ("退货找不到原交易", "Refund with no sale"),
    ExceptionType.REFUND_EXCEEDS_SALE: ("退货超过原交易金额", "Refunds exceed the sale"),
}


def title(t: ExceptionType, lang: Lang) -> str:
    """A short name of the exception type for a heading or a table."""
    zh, en = _TITLES[t]
    return zh if lang == "zh" else en


def next_action(t: ExceptionType, lang: Lang) -> str:
    """The playbook step as one sentence: what to do, whom to contact, what to send."""
    step = playbook()[t]
    if lang == "zh":
        return f"{step.action['zh']}。联系：{step.contact['zh']}；提供：{step.send['zh']}。"
    return f"{_capital(step.action['en'])}. Contact {step.contact['en']}; send {step.send['en']}."


def explain(t: ExceptionType, facts: Facts, lang: Lang) -> str:
    """What happened and why, from the finding's facts, in ``lang``."""
    f = _Facts(facts)
    zh, en = _EXPLAINERS[t](f)
    return zh if lang == "zh" else en


class _Facts:
    """Facts with the small formatting helpers the sentences need."""

    def __init__(self, facts: Facts) -> None:
        self.raw = facts

    def s(self, key: str, default: str = "-") -> str:
        v = self.raw.get(key)
        return default if v is None or v == "" else str(v)

    def has(self, key: str) -> bool:
        return self.raw.get(key) not in (None, "")

    def yuan(self, key: str) -> str:
        v = self.raw.get(key)
        return format_yuan(abs(int(v))) if isinstance(v, int) else "-"

    def minute(self, key: str) -> str:
        v = self.s(key)
        return v[5:16] if len(v) >= 16 else v  # "2026-11-05 00:00" -> "11-05 00:00"

    def pair(self, table: Mapping[str, tuple[str, str]], key: str) -> tuple[str, str]:
        v = self.s(key, "")
        return table.get(v, (v or "-", v or "-"))


def _tail(account: str) -> str:
    return account[-4:] if len(account) >= 4 else account


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _missing(f: _Facts) -> tuple[str, str]:
    ch = f.pair(_CHANNEL, "detail")
    tx = f.pair(_TXN, "code")
    amount = f.yuan("amount_fen")
    return (
        f"终端 {f.s('terminal_id')} 在 {f.s('ref_date')} 的一笔{ch[0]}{tx[0]} {amount} 元"
        f"（参考号 {f.s('rrn')}）已获批准，但在收单机构的结算文件中找不到。按合同应于 "
        f"{f.s('exp_date')} 结算，最迟 {f.s('extra_date')} 应出现在结算文件中。",
        f"An approved {ch[1]} {tx[1]} of {amount} yuan on terminal {f.s('terminal_id')} on "
        f"{f.s('ref_date')} (RRN {f.s('rrn')}) is in none of the acquirer's settlement files. "
        f"Under the contract it should have settled on {f.s('exp_date')}, and been in a "
        f"settlement file by {f.s('extra_date')} at the latest.",
    )


def _debited(f: _Facts) -> tuple[str, str]:
    res = f.pair(_RESULT, "code")
    amount = f.yuan("amount_fen")
    code = f.s("detail")
    rc = f"（应答码 {describe_code(code, 'zh')}）" if f.has("detail") else ""
    rc_en = f" (response code {describe_code(code, 'en')})" if f.has("detail") else ""
    why_zh, why_en = _WHY_FAILED.get(f.s("code", ""), ("", ""))
    return (
        f"终端 {f.s('terminal_id')} 在 {f.s('ref_date')} 的一笔 {amount} 元交易在 POS 上显示"
        f"{res[0]}{rc}，但收单机构已于 {f.s('act_date')} 把它结算了：顾客很可能已被扣款，"
        f"而店里以为交易没有成功。{why_zh}",
        f"A payment of {amount} yuan on terminal {f.s('terminal_id')} on {f.s('ref_date')} "
        f"{res[1]} on the POS{rc_en}, yet the acquirer settled it on {f.s('act_date')}: the "
        f"customer was most likely charged while the shop was told the payment failed.{why_en}",
    )


# Why a POS outcome can hide a charge, for the outcomes where it is not obvious.
_WHY_FAILED = {
    "timeout": (
        "POS 没有收到主机的应答，但主机可能已经批准了这笔交易。",
        " The POS got no answer, but the host may well have approved the payment.",
    ),
    "reversal_unconfirmed": (
        "POS 发出了自动冲正，却始终没有收到冲正成功的应答，冲正很可能没有生效。",
        " The POS sent an automatic reversal but never got it acknowledged, so the reversal "
        "most likely did not take effect.",
    ),
}


def _unknown(f: _Facts) -> tuple[str, str]:
    amount = f.yuan("amount_fen")
    return (
        f"收单机构在 {f.s('act_date')} 结算了一笔 {amount} 元的交易（终端 {f.s('terminal_id')}，"
        f"交易日 {f.s('ref_date')}，参考号 {f.s('rrn')}），但这台终端当天的 POS 流水里没有它。",
        f"The acquirer settled a transaction of {amount} yuan on {f.s('act_date')} (terminal "
        f"{f.s('terminal_id')}, {f.s('ref_date')}, RRN {f.s('rrn')}) that is not in that "
        "terminal's POS journal for the day.",
    )


def _amount(f: _Facts) -> tuple[str, str]:
    return (
        f"POS 上这笔交易（参考号 {f.s('rrn')}）是 {f.yuan('exp_fen')} 元，收单机构结算的是 "
        f"{f.yuan('act_fen')} 元，相差 {f.yuan('amount_fen')} 元。",
        f"The POS took {f.yuan('exp_fen')} yuan for this transaction (RRN {f.s('rrn')}) but "
        f"the acquirer settled {f.yuan('act_fen')} yuan, {f.yuan('amount_fen')} yuan apart.",
    )


def _fee(f: _Facts) -> tuple[str, str]:
    ch = f.pair(_CHANNEL, "detail")
    rate = f.raw.get("n")
    pct = f"{int(rate) / 10_000:g}%" if isinstance(rate, int) else "-"
    cap = f.raw.get("code")  # the debit-card cap in fen, as text, when the contract has one
    capped = isinstance(cap, str) and cap.isdigit()
    cap_zh = f"，单笔封顶 {format_yuan(int(str(cap)))} 元" if capped else ""
    cap_en = f", capped at {format_yuan(int(str(cap)))} yuan" if capped else ""
    over = int(f.raw.get("act_fen") or 0) - int(f.raw.get("exp_fen") or 0)
    word_zh, word_en = ("多收", "overcharged") if over > 0 else ("少收", "undercharged")
    return (
        f"合同约定{ch[0]}费率 {pct}{cap_zh}，这笔 {f.yuan('extra_fen')} 元交易的手续费应为 "
        f"{f.yuan('exp_fen')} 元，收单机构收取了 {f.yuan('act_fen')} 元，{word_zh} "
        f"{f.yuan('amount_fen')} 元。",
        f"The contract's {ch[1]} rate is {pct}{cap_en}, so the fee on this "
        f"{f.yuan('extra_fen')} yuan transaction is {f.yuan('exp_fen')} yuan; the acquirer took "
        f"{f.yuan('act_fen')} yuan and {word_en} by {f.yuan('amount_fen')} yuan.",
    )


def _duplicate(f: _Facts) -> tuple[str, str]:
    return (
        f"同一笔 {f.yuan('exp_fen')} 元的交易（参考号 {f.s('rrn')}）在结算文件中出现了 "
        f"{f.s('n')} 次，多出的 {f.yuan('amount_fen')} 元是重复清算。",
        f"The same transaction of {f.yuan('exp_fen')} yuan (RRN {f.s('rrn')}) is settled "
        f"{f.s('n')} times; the extra {f.yuan('amount_fen')} yuan is a double settlement.",
    )


def _merchant(f: _Facts) -> tuple[str, str]:
    return (
        f"这笔交易以“{f.s('act_text')}”的名义结算，而合同上的商户是“{f.s('exp_text')}”："
        "交易可能被跳码或串到了别的商户名下。",
        f"This transaction was settled as “{f.s('act_text')}” while the contract's merchant is "
        f"“{f.s('exp_text')}”: it may have been re-routed under another merchant or category.",
    )


def _late(f: _Facts) -> tuple[str, str]:
    return (
        f"按 {f.s('code')} 结算周期，{f.s('ref_date')} 的交易（营业日 {f.s('extra_date')}）"
        f"应在 {f.s('exp_date')} 结算，实际 {f.s('act_date')} 才结算，"
        f"晚了 {f.s('n')} 个银行工作日。",
        f"Under the {f.s('code')} cycle, this transaction of {f.s('ref_date')} (business day "
        f"{f.s('extra_date')}) should have settled on {f.s('exp_date')}; it settled on "
        f"{f.s('act_date')}, {f.s('n')} bank working days late.",
    )


def _payout_total(f: _Facts) -> tuple[str, str]:
    return (
        f"出款 {f.s('payout_id')} 应为其 {f.s('n')} 笔结算的净额合计 {f.yuan('exp_fen')} 元，"
        f"实际出款 {f.yuan('act_fen')} 元，相差 {f.yuan('amount_fen')} 元。",
        f"Payout {f.s('payout_id')} should be the net of its {f.s('n')} settlement rows, "
        f"{f.yuan('exp_fen')} yuan; it paid {f.yuan('act_fen')} yuan, "
        f"{f.yuan('amount_fen')} yuan apart.",
    )


def _maintenance(f: _Facts) -> tuple[str, str]:
    if not f.has("t1"):
        return "", ""
    bank = f.s("act_text")
    return (
        f"收款银行 {bank} 在 {f.minute('t1')} 至 {f.minute('t2')} 系统维护。",
        f"The receiving bank {bank} was under maintenance from {f.minute('t1')} to "
        f"{f.minute('t2')}.",
    )


def _code_words(f: _Facts) -> tuple[str, str]:
    code = f.s("code", "")
    known = failure_codes().get(code)
    if known is None:
        reason = f.s("detail", "")
        return (
            f"失败代码 {code or '(无)'}{('：' + reason) if reason else ''}"
            "（未知代码，按需处理账户对待）",
            f"failure code {code or '(none)'}{(': ' + reason) if reason else ''} "
            "(an unknown code, treated as needing account action)",
        )
    return f"{known.zh}（{code}）", f"{known.en} ({code})"


def _failed(f: _Facts, retry: bool) -> tuple[str, str]:
    why_zh, why_en = _code_words(f)
    m_zh, m_en = _maintenance(f)
    acct = _tail(f.s("exp_text"))
    head_zh = (
        f"{f.s('act_date')} 向尾号 {acct} 的账户出款 {f.yuan('amount_fen')} 元失败：{why_zh}。"
    )
    head_en = (
        f"Payout {f.s('payout_id')} of {f.yuan('amount_fen')} yuan to the account ending "
        f"{acct} failed on {f.s('act_date')}: {why_en}."
    )
    if retry:
        tail_zh = "钱还在收单机构，原因消除后可以重新发起出款（只发起一次）。"
        tail_en = "The money is still with the acquirer; pay it again once the cause has passed."
    else:
        tail_zh = "重试也不会成功：需要商户先处理账户问题，再重新发起出款。"
        tail_en = "Trying again will not help until the merchant has fixed the account."
    return head_zh + m_zh + tail_zh, " ".join(p for p in (head_en, m_en, tail_en) if p)


def _not_arrived(f: _Facts) -> tuple[str, str]:
    m_zh, m_en = _maintenance(f)
    acct = _tail(f.s("exp_text"))
    if f.s("detail", "") == "phantom":
        zh = (
            f"结算文件中有出款单号 {f.s('payout_id')}（净额 {f.yuan('amount_fen')} 元），"
            "但出款记录里"
            f"找不到它；应在 {f.s('exp_date')} 前到账，至今没有对应的入账。"
        )
        en = (
            f"Settlement rows name payout {f.s('payout_id')} ({f.yuan('amount_fen')} yuan net), "
            f"but no payout record has it and no credit arrived by {f.s('exp_date')}."
        )
        return zh + m_zh, " ".join(p for p in (en, m_en) if p)
    status_zh = "已成功" if f.s("code") == "succeeded" else "处理中"
    status_en = "succeeded" if f.s("code") == "succeeded" else "is still pending"
    zh = (
        f"收单机构的出款 {f.s('payout_id')}（{f.yuan('amount_fen')} 元，{f.s('ref_date')} 结算）"
        f"显示{status_zh}，应在 {f.s('exp_date')} 前到尾号 {acct} 的账户，但至今没有入账。"
    )
    en = (
        f"The acquirer's payout {f.s('payout_id')} of {f.yuan('amount_fen')} yuan (settled "
        f"{f.s('ref_date')}) {status_en}; it was due on the account ending {acct} by "
        f"{f.s('exp_date')} and has not arrived."
    )
    if m_zh:
        m_zh = "已把" + m_zh.rstrip("。") + "考虑在内。"
        m_en = m_en + " That has been allowed for."
    return zh + m_zh, " ".join(p for p in (en, m_en) if p)


def _arrived_late(f: _Facts) -> tuple[str, str]:
    zh = (
        f"出款 {f.s('payout_id')}（{f.yuan('amount_fen')} 元，{f.s('ref_date')} 结算）应在 "
        f"{f.s('exp_date')} 前到账，实际 {f.s('act_date')} 才到账。"
    )
    en = (
        f"Payout {f.s('payout_id')} of {f.yuan('amount_fen')} yuan (settled {f.s('ref_date')}) "
        f"was due by {f.s('exp_date')} and arrived on {f.s('act_date')}."
    )
    causes_zh, causes_en = [], []
    m_zh, m_en = _maintenance(f)
    if m_zh:
        causes_zh.append(m_zh.rstrip("。") + "，这可以解释延迟。")
        causes_en.append(m_en + " That accounts for the delay.")
    if f.has("code"):
        causes_zh.append(f"期间恰逢{f.s('detail', f.s('code'))}假期。")
        causes_en.append(f"The {f.s('code')} holiday fell in between.")
    return zh + "".join(causes_zh), " ".join([en, *causes_en])


def _misrouted(f: _Facts) -> tuple[str, str]:
    return (
        f"出款 {f.s('payout_id')}（{f.yuan('amount_fen')} 元）打到了账户 {f.s('act_text')}，"
        f"而合同约定的结算账户是 {f.s('exp_text')}。",
        f"Payout {f.s('payout_id')} of {f.yuan('amount_fen')} yuan went to account "
        f"{f.s('act_text')}; the contract's settlement account is {f.s('exp_text')}.",
    )


def _unmatched(f: _Facts) -> tuple[str, str]:
    return (
        f"{f.s('act_date')} 账户 {f.s('exp_text')} 收到“{f.s('act_text')}”转入的 "
        f"{f.yuan('amount_fen')} 元（摘要：{f.s('code')}），但它对不上任何出款记录。",
        f"On {f.s('act_date')} account {f.s('exp_text')} received {f.yuan('amount_fen')} yuan "
        f"from “{f.s('act_text')}” (reference: {f.s('code')}), which matches no payout we know.",
    )


def _suspended(f: _Facts) -> tuple[str, str]:
    r = f.pair(_REASON, "code")
    since_zh = f"自 {f.s('ref_date')} 起" if f.has("ref_date") else ""
    since_en = f" since {f.s('ref_date')}" if f.has("ref_date") else ""
    note = f"（{f.s('detail')}）" if f.has("detail") else ""
    note_en = f" ({f.s('detail')})" if f.has("detail") else ""
    return (
        f"终端 {f.s('terminal_id')} {since_zh}被停机，原因：{r[0]}{note}。停机期间无法受理刷卡。",
        f"Terminal {f.s('terminal_id')} has been suspended{since_en} for {r[1]}{note_en}; "
        "it cannot take card payments until it is re-enabled.",
    )


def _activity(f: _Facts) -> tuple[str, str]:
    r = f.pair(_REASON, "code")
    return (
        f"终端 {f.s('terminal_id')} 自 {f.s('extra_date')} 起已停机（{r[0]}），但 "
        f"{f.s('ref_date')} 仍有一笔 {f.yuan('amount_fen')} 元的交易获批（参考号 {f.s('rrn')}）。",
        f"Terminal {f.s('terminal_id')} has been suspended since {f.s('extra_date')} for "
        f"{r[1]}, yet a payment of {f.yuan('amount_fen')} yuan was approved on it on "
        f"{f.s('ref_date')} (RRN {f.s('rrn')}).",
    )


def _refund_without(f: _Facts) -> tuple[str, str]:
    orig = f.s("code", "")
    return (
        f"{f.s('ref_date')} 的一笔 {f.yuan('amount_fen')} 元退货（参考号 {f.s('rrn')}）"
        + (f"指向原交易 {orig}，但" if orig else "没有注明原交易，")
        + "POS 流水和结算文件里都找不到这笔原交易。",
        f"A refund of {f.yuan('amount_fen')} yuan on {f.s('ref_date')} (RRN {f.s('rrn')}) "
        + (f"names the sale {orig}, which" if orig else "names no original sale, and its sale")
        + " is in neither the POS journal nor the settlement files.",
    )


def _refund_exceeds(f: _Facts) -> tuple[str, str]:
    return (
        f"原交易 {f.s('code')} 金额 {f.yuan('exp_fen')} 元，到这笔退货（参考号 {f.s('rrn')}）为止"
        f"已累计退货 {f.yuan('act_fen')} 元，超出 {f.yuan('amount_fen')} 元。",
        f"The sale {f.s('code')} was {f.yuan('exp_fen')} yuan; with this refund (RRN "
        f"{f.s('rrn')}) {f.yuan('act_fen')} yuan have been refunded, "
        f"{f.yuan('amount_fen')} yuan more than the sale.",
    )


_EXPLAINERS: dict[ExceptionType, Callable[[_Facts], tuple[str, str]]] = {
    ExceptionType.MISSING_IN_SETTLEMENT: _missing,
    ExceptionType.DEBITED_BUT_FAILED: _debited,
    ExceptionType.UNKNOWN_SETTLEMENT: _unknown,
    ExceptionType.AMOUNT_MISMATCH: _amount,
    ExceptionType.FEE_MISMATCH: _fee,
    ExceptionType.DUPLICATE_SETTLEMENT: _duplicate,
    ExceptionType.MERCHANT_MISMATCH: _merchant,
    ExceptionType.LATE_SETTLEMENT: _late,
    ExceptionType.PAYOUT_TOTAL_MISMATCH: _payout_total,
    ExceptionType.PAYOUT_FAILED_RETRYABLE: lambda f: _failed(f, retry=True),
    ExceptionType.PAYOUT_FAILED_ACTION_REQUIRED: lambda f: _failed(f, retry=False),
    ExceptionType.SETTLED_NOT_ARRIVED: _not_arrived,
    ExceptionType.ARRIVED_LATE: _arrived_late,
    ExceptionType.MISROUTED_PAYOUT: _misrouted,
    ExceptionType.UNMATCHED_CREDIT: _unmatched,
    ExceptionType.TERMINAL_SUSPENDED: _suspended,
    ExceptionType.ACTIVITY_ON_SUSPENDED_TERMINAL: _activity,
    ExceptionType.REFUND_WITHOUT_SALE: _refund_without,
    ExceptionType.REFUND_EXCEEDS_SALE: _refund_exceeds,
}
