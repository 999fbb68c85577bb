"""ISO 8583 message layouts: the China UnionPay POS one built in, others from a small YAML file.

An ISO 8583 message is only readable with its *layout*: which fields are
BCD or ASCII, fixed or length-prefixed, how long, and what comes before
the MTI. pyiso8583 does the decoding; this module only says what layout to
give it (a pyiso8583 *spec*: a dict of field key -> ``data_enc``,
``len_enc``, ``len_type``, ``max_len``, optional ``len_count``,
``left_pad``/``right_pad``) and how the messages are framed in the file.

The built-in :data:`CUP_POS` is the China UnionPay POS layout of POS-DOMAIN
section 1.6 (TPDU + 6-byte header = 11 bytes before a BCD MTI, binary
bitmap, BCD numeric fields, GBK merchant name in F43). It decodes the eight
real vfwz terminal messages to their ``decoded_values.json`` and encodes them
back byte for byte (tests/ingest/test_iso8583_specs.py holds it to that).

An acquirer or switch with its own layout is described by a *spec file*,
which starts from a base layout and overrides what differs::

    name: acme_switch            # the format is called iso8583.acme_switch
    base: cup_pos                # cup_pos | ascii (pyiso8583 default_ascii) | binary (default)
    framing: length_prefixed     # hex_lines (one hex message per line) | length_prefixed
    length_prefix: {bytes: 2, encoding: binary}   # binary | bcd | ascii; length_prefixed only
    header_length: 11            # bytes before the MTI (TPDU + header); 0 = none
    fields:                      # pyiso8583 field spec keys, per field
      "48": {data_enc: ascii, len_enc: bcd, len_type: 2, max_len: 999}
    channels:                    # first match wins; see ChannelRule
      - {field: "63", at: 0, equals: "WXP", channel: wechat}
    default_channel: debit_card

>>> name, spec = parse_spec_text(_EXAMPLE, "example.yaml")
>>> name, spec.framing, spec.fields["h"]["max_len"], spec.fields["48"]["data_enc"]
('acme_switch', 'length_prefixed', 11, 'ascii')
>>> spec.channel_rules[0]
ChannelRule(field='63', at=0, equals='WXP', channel=<Channel.WECHAT: 'wechat'>)

Errors in a spec file raise :class:`SpecError`, naming the key and why in
Chinese and English: the person who writes it is an operations engineer
at a payment provider, not us.
"""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from iso8583.specs import default, default_ascii

from daozhang.domain.records import Channel
from daozhang.errors import DescriptionError

__all__ = [
    "CUP_POS",
    "CUP_POS_BINARY",
    "FORBIDDEN_FIELDS",
    "ChannelRule",
    "Framing",
    "MessageSpec",
    "SpecError",
    "cup_pos_fields",
    "load_spec_file",
    "parse_spec_text",
]

Framing = Literal["hex_lines", "length_prefixed"]
LengthEncoding = Literal["binary", "bcd", "ascii"]

# Sensitive authentication data and card data we must never keep (POS-DOMAIN
# section 6): track 1/2/3, PIN block, ICC data, card expiry. The PAN (F2)
# is read only into the masked card column. A channel rule on one of these
# is refused, so no layout can make us copy them into a table.
FORBIDDEN_FIELDS = frozenset({"2", "14", "35", "36", "45", "52", "55"})

_SPEC_KEYS = {"data_enc", "len_enc", "len_type", "max_len", "len_count", "left_pad", "right_pad"}
_FIELD_KEY = re.compile(r"^(?:h|t|p|[1-9][0-9]?|1[01][0-9]|12[0-8])$")

_EXAMPLE = """
name: acme_switch
base: cup_pos
framing: length_prefixed
length_prefix: {bytes: 2, encoding: binary}
header_length: 11
fields:
  "48": {data_enc: ascii, len_enc: bcd, len_type: 2, max_len: 999}
channels:
  - {field: "63", at: 0, equals: "WXP", channel: wechat}
"""


class SpecError(DescriptionError):
    """A spec file that cannot be used; ``zh`` and ``en`` say which key and why."""


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """``channel`` when the request's field ``field`` has ``equals`` at offset ``at``.

    The message rarely says outright whether a card is debit or credit; the
    rules say what a given layout does tell. Built in for CUP POS (see
    :data:`CUP_CHANNEL_RULES`): POS entry mode F22 ``03`` (bar code: the
    terminal scanned a payment code) is UnionPay QR; the *from account* of
    the processing code (F3 digits 3-4, ISO 8583:1987) ``30`` is a credit
    account, ``10``/``20`` savings/cheque are debit. CUP terminals send
    ``000000`` (account unspecified) for most card sales, so the layout's
    ``default_channel`` decides those; the settlement file, which carries the
    acquirer's own card class, is what fees are checked against.
    """

    field: str
    at: int
    equals: str
    channel: Channel


CUP_CHANNEL_RULES: tuple[ChannelRule, ...] = (
    ChannelRule("22", 0, "03", Channel.UNIONPAY_QR),
    ChannelRule("3", 2, "30", Channel.CREDIT_CARD),
    ChannelRule("3", 2, "10", Channel.DEBIT_CARD),
    ChannelRule("3", 2, "20", Channel.DEBIT_CARD),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSpec:
    """A message layout and how messages sit in the file.

    Attributes:
        name: short name; the format is ``iso8583.<name>``.
        framing: ``hex_lines`` (a text log, one message per line as hex,
            see :mod:`daozhang.ingest.iso8583_log` for the line prefixes
            accepted) or ``length_prefixed`` (a binary file of
            length-prefixed messages, as on the TCP link).
        length_bytes / length_encoding: the length prefix of
            ``length_prefixed`` framing (2-byte big-endian binary on CUP links).
        fields: the pyiso8583 spec (read-only).
        channel_rules / default_channel: how the channel is decided.
    """

    name: str
    framing: Framing
    fields: Mapping[str, Mapping[str, Any]]
    length_bytes: int = 2
    length_encoding: LengthEncoding = "binary"
    channel_rules: tuple[ChannelRule, ...] = CUP_CHANNEL_RULES
    default_channel: Channel = Channel.DEBIT_CARD

    @property
    def header_length(self) -> int:
        """Bytes before the MTI (0 = none)."""
        return int(self.fields["h"]["max_len"])


def _f(enc: str, len_type: int, max_len: int, **kw: str) -> dict[str, Any]:
    return {
        "data_enc": enc,
        "len_enc": "bcd",
        "len_type": len_type,
        "max_len": max_len,
        "desc": "",
        **kw,
    }


def cup_pos_fields() -> dict[str, dict[str, Any]]:
    """A fresh copy of the CUP POS pyiso8583 spec (POS-DOMAIN 1.6), to change freely."""
    cup: dict[str, dict[str, Any]] = copy.deepcopy(default)
    cup["h"] = _f("b", 0, 11)  # TPDU (5) + header (6)
    cup["t"] = _f("b", 0, 2)
    cup["p"] = _f("b", 0, 8)
    cup["2"] = _f("b", 1, 19, len_count="nibbles", right_pad="0")
    fixed = {"3": 6, "4": 12, "11": 6, "12": 6, "13": 4, "14": 4, "15": 4, "25": 2, "26": 2}
    for k, n in fixed.items():
        cup[k] = _f("b", 0, n, len_count="nibbles")
    cup["22"] = _f("b", 0, 3, len_count="nibbles", right_pad="0")
    cup["23"] = _f("b", 0, 3, len_count="nibbles", left_pad="0")
    cup["32"] = _f("b", 1, 11, len_count="nibbles", right_pad="0")
    # Track 2/3 as CUP terminals send them (BCD, ``D`` as separator). Not in
    # the section 1.6 sketch (the vfwz samples have none); read only to be
    # stepped over: their values are never kept.
    cup["35"] = _f("b", 1, 37, len_count="nibbles", right_pad="0")
    cup["36"] = _f("b", 2, 104, len_count="nibbles", right_pad="0")
    for k, n in {"37": 12, "38": 6, "39": 2, "41": 8, "42": 15, "49": 3}.items():
        cup[k] = _f("ascii", 0, n)
    cup["43"] = _f("gb18030", 0, 40)
    cup["44"] = _f("ascii", 1, 25)
    for k in ("46", "54"):
        cup[k] = _f("ascii", 2, 999)
    for k in ("48", "55", "59", "62", "63"):
        cup[k] = _f("b", 2, 999)
    cup["56"] = _f("gb18030", 2, 999)
    cup["52"] = _f("b", 0, 8)
    cup["53"] = _f("b", 0, 16, len_count="nibbles")
    cup["64"] = _f("b", 0, 8)
    cup["60"] = _f("b", 2, 17, len_count="nibbles", right_pad="0")
    cup["61"] = _f("b", 2, 29, len_count="nibbles", right_pad="0")
    return cup


def _frozen(fields: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in fields.items()})


CUP_POS = MessageSpec(name="cup_pos", framing="hex_lines", fields=_frozen(cup_pos_fields()))
"""CUP POS messages as a text log of hex lines (the built-in ``iso8583.cup_pos`` format)."""

CUP_POS_BINARY = MessageSpec(
    name="cup_pos_binary", framing="length_prefixed", fields=CUP_POS.fields
)
"""CUP POS messages as on the wire: 2-byte big-endian length + message."""

_BASES: dict[str, Mapping[str, Mapping[str, Any]]] = {
    "cup_pos": CUP_POS.fields,
    "ascii": default_ascii,
    "binary": default,
}


def load_spec_file(path: Path) -> tuple[str, MessageSpec]:
    """The layout in the YAML file ``path``: its name and spec. Raises :class:`SpecError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), f"无法读取文件：{exc}", f"cannot read the file: {exc}") from exc
    return parse_spec_text(text, str(path))


def parse_spec_text(text: str, source: str) -> tuple[str, MessageSpec]:
    """:func:`load_spec_file` on text already read; ``source`` names it in errors."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(source, f"不是有效的 YAML：{exc}", f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise SpecError(source, "文件应是键值对（YAML 映射）", "the file must be a YAML mapping")
    known = {
        "name",
        "description",
        "base",
        "framing",
        "length_prefix",
        "header_length",
        "fields",
        "channels",
        "default_channel",
    }
    for key in doc:
        if key not in known:
            raise SpecError(
                source,
                f"未知的键 {key}（可用：{', '.join(sorted(known))}）",
                f"unknown key {key} (known: {', '.join(sorted(known))})",
            )
    name = doc.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]{1,40}", name):
        raise SpecError(
            source,
            "name 必须是 1 到 40 个字母、数字、下划线或连字符",
            "name must be 1 to 40 letters, digits, underscores or hyphens",
        )
    base_name = doc.get("base", "cup_pos")
    if base_name not in _BASES:
        raise SpecError(
            source,
            f"base 必须是 {' | '.join(_BASES)} 之一：{base_name}",
            f"base must be one of {' | '.join(_BASES)}: {base_name}",
        )
    fields: dict[str, dict[str, Any]] = {k: dict(v) for k, v in _BASES[base_name].items()}
    framing = doc.get("framing", "hex_lines")
    if framing not in ("hex_lines", "length_prefixed"):
        raise SpecError(
            source,
            f"framing 必须是 hex_lines 或 length_prefixed：{framing}",
            f"framing must be hex_lines or length_prefixed: {framing}",
        )
    length_bytes, length_encoding = _length_prefix(doc.get("length_prefix"), source)
    if "header_length" in doc:
        hl = doc["header_length"]
        if not isinstance(hl, int) or isinstance(hl, bool) or not 0 <= hl <= 64:
            raise SpecError(
                source,
                f"header_length 必须是 0 到 64 之间的整数：{hl}",
                f"header_length must be a whole number from 0 to 64: {hl}",
            )
        fields["h"] = {**fields["h"], "max_len": hl, "len_type": 0}
    overrides = doc.get("fields") or {}
    if not isinstance(overrides, dict):
        raise SpecError(source, "fields 必须是映射", "fields must be a mapping")
    for key, over in overrides.items():
        fields[str(key)] = _field_override(str(key), over, fields.get(str(key)), source)
    for key, fs in fields.items():
        _check_field(key, fs, source)
    rules = tuple(_channel_rule(r, i, source) for i, r in enumerate(doc.get("channels") or []))
    default_channel = _channel(doc.get("default_channel", "debit_card"), "default_channel", source)
    spec = MessageSpec(
        name=name,
        framing=framing,
        fields=_frozen(fields),
        length_bytes=length_bytes,
        length_encoding=length_encoding,
        channel_rules=rules + CUP_CHANNEL_RULES if base_name == "cup_pos" else rules,
        default_channel=default_channel,
    )
    return name, spec


def _length_prefix(value: object, source: str) -> tuple[int, LengthEncoding]:
    if value is None:
        return 2, "binary"
    if not isinstance(value, dict):
        raise SpecError(source, "length_prefix 必须是映射", "length_prefix must be a mapping")
    n = value.get("bytes", 2)
    enc = value.get("encoding", "binary")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 4:
        raise SpecError(
            source,
            f"length_prefix.bytes 必须是 1 到 4：{n}",
            f"length_prefix.bytes must be 1 to 4: {n}",
        )
    if enc == "binary":
        return n, "binary"
    if enc == "bcd":
        return n, "bcd"
    if enc == "ascii":
        return n, "ascii"
    raise SpecError(
        source,
        f"length_prefix.encoding 必须是 binary、bcd 或 ascii：{enc}",
        f"length_prefix.encoding must be binary, bcd or ascii: {enc}",
    )


def _field_override(
    key: str, over: object, base: Mapping[str, Any] | None, source: str
) -> dict[str, Any]:
    if not _FIELD_KEY.match(key):
        raise SpecError(
            source,
            f"fields 中的 {key} 不是字段号（h、t、p 或 1 到 128）",
            f"fields: {key} is not a field key (h, t, p or 1 to 128)",
        )
    if not isinstance(over, dict):
        raise SpecError(source, f"字段 {key} 的定义必须是映射", f"field {key} must be a mapping")
    for k in over:
        if k not in _SPEC_KEYS and k != "desc":
            raise SpecError(
                source,
                f"字段 {key} 的未知键 {k}（可用：{', '.join(sorted(_SPEC_KEYS))}）",
                f"field {key}: unknown key {k} (known: {', '.join(sorted(_SPEC_KEYS))})",
            )
    return {**(base or {"desc": ""}), **over}


def _check_field(key: str, fs: Mapping[str, Any], source: str) -> None:
    def bad(zh: str, en: str) -> SpecError:
        return SpecError(source, f"字段 {key}：{zh}", f"field {key}: {en}")

    for k in ("data_enc", "len_enc", "len_type", "max_len"):
        if k not in fs:
            raise bad(f"缺少 {k}", f"{k} is missing")
    for k in ("data_enc", "len_enc"):
        enc = fs[k]
        if not isinstance(enc, str):
            raise bad(f"{k} 必须是文字", f"{k} must be text")
        if enc not in ("b", "bcd"):
            try:
                codecs.lookup(enc)
            except LookupError:
                raise bad(
                    f"{k} 不是已知的编码：{enc}", f"{k} is not a known encoding: {enc}"
                ) from None
    lt, ml = fs["len_type"], fs["max_len"]
    if not isinstance(lt, int) or isinstance(lt, bool) or not 0 <= lt <= 4:
        raise bad(f"len_type 必须是 0 到 4：{lt}", f"len_type must be 0 to 4: {lt}")
    if not isinstance(ml, int) or isinstance(ml, bool) or not 0 <= ml <= 99_999:
        raise bad(f"max_len 必须是非负整数：{ml}", f"max_len must be a whole number >= 0: {ml}")
    if fs.get("len_count", "bytes") not in ("bytes", "nibbles"):
        raise bad("len_count 必须是 bytes 或 nibbles", "len_count must be bytes or nibbles")
    for k in ("left_pad", "right_pad"):
        if k in fs and (not isinstance(fs[k], str) or len(fs[k]) > 1):
            raise bad(f"{k} 必须是一个字符", f"{k} must be one character")


def _channel(value: object, where: str, source: str) -> Channel:
    try:
        return Channel(str(value))
    except ValueError:
        allowed = " | ".join(c.value for c in Channel)
        raise SpecError(
            source,
            f"{where} 必须是 {allowed} 之一：{value}",
            f"{where} must be one of {allowed}: {value}",
        ) from None


def _channel_rule(value: object, i: int, source: str) -> ChannelRule:
    where = f"channels[{i}]"
    if not isinstance(value, dict) or not {"field", "equals", "channel"} <= value.keys():
        raise SpecError(
            source,
            f"{where} 必须有 field、equals 和 channel",
            f"{where} must have field, equals and channel",
        )
    field = str(value["field"])
    if not re.fullmatch(r"[1-9][0-9]{0,2}", field) or int(field) > 128:
        raise SpecError(source, f"{where}.field 不是字段号：{field}", f"{where}.field: not a field")
    if field in FORBIDDEN_FIELDS:
        raise SpecError(
            source,
            f"{where}.field 不能用字段 {field}（卡号、磁道、PIN、芯片数据不得读取）",
            f"{where}.field cannot be {field} "
            "(card number, track, PIN and chip data are never read)",
        )
    at = value.get("at", 0)
    if not isinstance(at, int) or isinstance(at, bool) or at < 0:
        raise SpecError(source, f"{where}.at 必须是非负整数", f"{where}.at must be a whole number")
    equals = value["equals"]
    if not isinstance(equals, str) or not equals:
        raise SpecError(source, f"{where}.equals 必须是非空文字", f"{where}.equals must be text")
    return ChannelRule(field, at, equals, _channel(value["channel"], f"{where}.channel", source))
