"""ISO 8583 field 39 response codes as a POS in China shows them: meaning in Chinese and English.

A declined card payment carries a two-character code from the host (F39).
The shop owner sees the terminal's text (余额不足); the acquirer's service
desk speaks in codes (51). The reports give both. Meanings are POS-DOMAIN
section 1.5: the ISO 8583:1987 ones, with CUP's own (97, 98, A0) and CUP's
display texts; codes marked there as unverified keep ISO's wording.

>>> response_meaning("51")
('余额不足', 'insufficient funds')
>>> describe_code("51", "zh"), describe_code("51", "en")
('51：余额不足', '51: insufficient funds')
>>> describe_code("Q7", "en")
'Q7'
"""

from __future__ import annotations

__all__ = ["RESPONSE_CODES", "describe_code", "response_meaning"]

# code -> (Chinese, English)
RESPONSE_CODES: dict[str, tuple[str, str]] = {
    "00": ("交易成功", "approved"),
    "03": ("无效商户", "invalid merchant"),
    "05": ("发卡行不予承兑", "do not honour"),
    "12": ("无效交易", "invalid transaction"),
    "13": ("无效金额", "invalid amount"),
    "14": ("无效卡号（无此账户）", "invalid card number (no such account)"),
    "25": ("找不到原始交易", "unable to locate the original transaction"),
    "30": ("报文格式错误", "format error"),
    "51": ("余额不足", "insufficient funds"),
    "54": ("卡已过期", "expired card"),
    "55": ("密码错误", "incorrect PIN"),
    "61": ("超出金额限制", "exceeds the amount limit"),
    "68": ("发卡行响应超时", "response received too late"),
    "91": ("发卡行或交换中心不能操作", "issuer or switch inoperative"),
    "94": ("重复交易", "duplicate transmission"),
    "96": ("系统故障", "system malfunction"),
    "97": ("终端未登记", "terminal not registered"),
    "98": ("交换中心收不到发卡行应答", "no response from the issuer"),
    "A0": ("MAC 校验错，请重新签到", "MAC verification failed; the terminal must sign in again"),
}


def response_meaning(code: str | None) -> tuple[str, str] | None:
    """(Chinese, English) meaning of ``code``; None for a code we do not know."""
    if code is None:
        return None
    return RESPONSE_CODES.get(code.strip().upper())


def describe_code(code: str, lang: str) -> str:
    """``51：余额不足`` / ``51: insufficient funds``, or the bare code when unknown."""
    meaning = response_meaning(code)
    if meaning is None:
        return code
    return f"{code}：{meaning[0]}" if lang == "zh" else f"{code}: {meaning[1]}"
