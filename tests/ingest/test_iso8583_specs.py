"""The CUP POS layout against the real vfwz messages, and layouts from spec files."""

from __future__ import annotations

import json
from pathlib import Path

import iso8583
import pytest

from daozhang.domain.records import Channel
from daozhang.domain.response_codes import RESPONSE_CODES, describe_code, response_meaning
from daozhang.ingest.iso8583_specs import (
    CUP_POS,
    SpecError,
    load_spec_file,
    parse_spec_text,
)
from tests.helpers.samples import sample

VFWZ = sample("iso8583/cup_pos_vfwz/decoded_values.json").parent
NAMES = sorted(json.loads((VFWZ / "decoded_values.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", NAMES)
def test_real_terminal_message_decodes_to_its_known_values_and_back(name: str) -> None:
    expected = json.loads((VFWZ / "decoded_values.json").read_text(encoding="utf-8"))[name]
    raw = bytes.fromhex((VFWZ / f"{name}.hex").read_text().strip())
    decoded, _ = iso8583.decode(raw, CUP_POS.fields)
    assert decoded == expected
    again, _ = iso8583.encode(dict(decoded), dict(CUP_POS.fields))
    assert bytes(again) == raw


def test_the_built_in_layout_cannot_be_changed_by_accident() -> None:
    with pytest.raises(TypeError):
        CUP_POS.fields["4"]["max_len"] = 10  # type: ignore[index]


def test_an_acquirers_spec_file_overrides_the_cup_layout(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        "name: acme\n"
        "framing: length_prefixed\n"
        "length_prefix: {bytes: 2, encoding: bcd}\n"
        "header_length: 5\n"
        "fields:\n"
        '  "48": {data_enc: ascii, len_type: 2, max_len: 999}\n'
        "channels:\n"
        '  - {field: "63", at: 0, equals: "WXP", channel: wechat}\n'
        "default_channel: credit_card\n",
        encoding="utf-8",
    )
    name, spec = load_spec_file(path)
    assert name == "acme" and spec.framing == "length_prefixed"
    assert (spec.length_bytes, spec.length_encoding, spec.header_length) == (2, "bcd", 5)
    assert spec.fields["48"]["data_enc"] == "ascii" and spec.fields["48"]["len_enc"] == "bcd"
    assert spec.fields["4"] == CUP_POS.fields["4"]
    assert spec.channel_rules[0].channel is Channel.WECHAT
    assert spec.default_channel is Channel.CREDIT_CARD


def test_a_plain_ascii_layout_can_be_based_on_pyiso8583s_own() -> None:
    _, spec = parse_spec_text("name: plain\nbase: ascii\nheader_length: 0\n", "plain.yaml")
    raw = b"02004010100000000000161234567890123456123456111"
    decoded, _ = iso8583.decode(raw, spec.fields)
    assert decoded["2"] == "1234567890123456" and spec.header_length == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name: x\nframing: tcp\n", "framing must be"),
        ("name: x\ncolour: red\n", "unknown key colour"),
        ("name: x y\n", "name must be"),
        ("name: x\nbase: jpos\n", "base must be"),
        ('name: x\nfields:\n  "4": {data_enc: klingon}\n', "not a known encoding"),
        ('name: x\nfields:\n  "4": {size: 3}\n', "unknown key size"),
        ('name: x\nfields:\n  "129": {max_len: 3}\n', "not a field key"),
        ('name: x\nfields:\n  "4": {len_type: 9}\n', "len_type must be"),
        ('name: x\nchannels:\n  - {field: "35", equals: "6", channel: debit_card}\n', "never read"),
        ('name: x\nchannels:\n  - {field: "63", equals: "W", channel: paypal}\n', "must be one of"),
        ("name: x\nheader_length: -1\n", "header_length"),
        ("[not, a, mapping]\n", "YAML mapping"),
        ("name: x\n  bad: indentation\n", "not valid YAML"),
    ],
)
def test_a_bad_spec_file_names_the_key_and_why(text: str, says: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, "bad.yaml")
    assert says in err.value.message("en")
    assert err.value.message("zh").startswith("bad.yaml: ")


def test_response_codes_say_what_the_terminal_showed_in_both_languages() -> None:
    assert response_meaning("51") == ("余额不足", "insufficient funds")
    assert response_meaning("a0") == RESPONSE_CODES["A0"]
    assert response_meaning("Z9") is None and response_meaning(None) is None
    assert describe_code("55", "zh") == "55：密码错误"
    assert describe_code("98", "en") == "98: no response from the issuer"
    assert describe_code("Z9", "en") == "Z9"
    assert all(len(code) == 2 and zh and en for code, (zh, en) in RESPONSE_CODES.items())


def test_the_docstring_examples_hold() -> None:
    import doctest

    from daozhang.domain import response_codes
    from daozhang.ingest import iso8583_log, iso8583_specs
    from daozhang.simulate import export_iso8583

    for module in (iso8583_specs, iso8583_log, response_codes, export_iso8583):
        failed, _ = doctest.testmod(module)
        assert failed == 0, module.__name__
