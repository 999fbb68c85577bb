"""A POS terminal's day as ISO 8583 messages: the fixtures in tests/fixtures/derived/iso8583.

Every message is encoded by pyiso8583 with the built-in CUP POS layout, so
the fixtures are what that layout says a terminal sends; the test PAN is the
vfwz sample's test card. Regenerate with::

    .venv/bin/python -m tests.helpers.iso8583_day

The day (terminal 10016919 of merchant 898340153990001, batch 000001,
2026-11-02), by STAN:

====== ===================================================== ====================
STAN   what happens                                          journal result
====== ===================================================== ====================
000100 sign-in 0800/0810                                     (not a record)
000101 sale 58.00, approved                                  approved
000102 sale 128.50, approved                                 approved
000103 sale 300.00, declined 51 (insufficient funds)         declined 51
000104 sale 88.00, no response, no reversal                  timeout
000105 sale 45.00, no response; 0400 (98) acknowledged 0410  reversed
000106 sale 66.00, no response; 0400 + two 0401, no 0410     reversal_unconfirmed
000107 void of 000102 (F37 = its RRN), approved              void approved
000108 refund 0220 of 20.00 against 000101, acknowledged     refund approved
000109 pre-auth 0100 500.00, approved                        (not a record)
000110 pre-auth completion 480.00, approved                  preauth_complete
000111 balance inquiry                                       (not a record)
000112 UnionPay QR sale 25.00 (F22 03x), approved            unionpay_qr
000113 credit-account sale 99.90 (F3 003000), approved       credit_card
000099 a 0210 whose 0200 is not in the log                   orphan reject
====== ===================================================== ====================

The sale 000101 also carries track 2, a PIN block and ICC data (F35, F52,
F55), which must never reach a table. A last line holds half a message (a
log cut while written): a ``bad_message`` reject.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import iso8583

from daozhang.ingest.iso8583_specs import CUP_POS

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "derived" / "iso8583"
HEX_LOG = FOLDER / "terminal_day.log"
BINARY_LOG = FOLDER / "terminal_day.bin"
DAY = dt.date(2026, 11, 2)

PAN = "6224242300000069"
TID = "10016919"
MID = "898340153990001"
HEADER = "6000030000603100310100"


def _msg(mti: str, **fields: str) -> dict[str, str]:
    return {"h": HEADER, "t": mti, **{k.lstrip("f"): v for k, v in fields.items()}}


def encode(doc: dict[str, str]) -> bytes:
    """``doc`` encoded with the CUP POS layout (pyiso8583)."""
    raw, _ = iso8583.encode(dict(doc), dict(CUP_POS.fields))
    return bytes(raw)


def _request(
    mti: str, stan: str, amount: str, *, f3: str = "000000", f60: str = "22000001", **kw: str
) -> dict[str, str]:
    hhmmss = kw.pop("time")
    return _msg(
        mti,
        f2=PAN,
        f3=f3,
        f4=amount,
        f11=stan,
        f12=hhmmss,
        f13=DAY.strftime("%m%d"),
        f22=kw.pop("f22", "051"),
        f25=kw.pop("f25", "00"),
        f41=TID,
        f42=MID,
        f49="156",
        f60=f60,
        **kw,
    )


def _response(req: dict[str, str], code: str, rrn: str | None, auth: str | None) -> dict[str, str]:
    resp = {k: v for k, v in req.items() if k in ("h", "2", "3", "4", "11", "12", "13", "25")}
    resp.update({"t": req["t"][:2] + str(int(req["t"][2]) + 1) + "0", "41": TID, "42": MID})
    resp["15"] = DAY.strftime("%m%d")
    resp["39"] = code
    if rrn is not None:
        resp["37"] = rrn
    if auth is not None:
        resp["38"] = auth
    resp["60"] = req["60"]
    return resp


def _reversal(req: dict[str, str], mti: str, reason: str) -> dict[str, str]:
    rev = {k: v for k, v in req.items() if k in ("h", "2", "3", "4", "11", "22", "25", "41", "42")}
    rev.update({"t": mti, "39": reason, "49": "156", "60": req["60"]})
    return rev


def day_messages() -> list[tuple[dt.datetime, dict[str, str]]]:
    """The terminal's day, in log order, with the moment each message was logged."""
    out: list[tuple[dt.datetime, dict[str, str]]] = []

    def at(hhmmss: str, doc: dict[str, str]) -> None:
        out.append((dt.datetime.combine(DAY, dt.time.fromisoformat(hhmmss)), doc))

    def t(hhmmss: str) -> str:
        return hhmmss.replace(":", "")

    signin = _msg("0800", f11="000100", f41=TID, f42=MID, f60="00000000003", f63="303120")
    at("08:30:00", signin)
    at("08:30:01", _msg("0810", f11="000100", f12="083001", f13="1102", f37="000000000000",
                        f39="00", f41=TID, f42=MID, f60="00000001003"))  # fmt: skip

    s101 = _request("0200", "000101", "000000005800", time=t("09:00:00"),
                    f35=PAN + "D29031010000000000", f52="0123456789ABCDEF",
                    f55="9F2608AABBCCDDEEFF0011")  # fmt: skip
    at("09:00:00", s101)
    at("09:00:02", _response(s101, "00", "110209000101", "123456"))

    s102 = _request("0200", "000102", "000000012850", time=t("09:15:00"))
    at("09:15:00", s102)
    at("09:15:01", _response(s102, "00", "110209000102", "234567"))

    s103 = _request("0200", "000103", "000000030000", time=t("10:00:00"))
    at("10:00:00", s103)
    at("10:00:02", _response(s103, "51", "110210000103", None))

    s104 = _request("0200", "000104", "000000008800", time=t("11:00:00"))
    at("11:00:00", s104)  # no response, and the reversal is not in this log

    s105 = _request("0200", "000105", "000000004500", time=t("11:30:00"))
    at("11:30:00", s105)
    at("11:31:00", _reversal(s105, "0400", "98"))
    rev105 = _response(_reversal(s105, "0400", "98"), "00", "110211000105", None)
    at("11:31:01", rev105)

    s106 = _request("0200", "000106", "000000006600", time=t("12:00:00"))
    at("12:00:00", s106)
    at("12:01:00", _reversal(s106, "0400", "98"))
    at("12:02:00", _reversal(s106, "0401", "98"))
    at("12:03:00", _reversal(s106, "0401", "98"))

    v107 = _request("0200", "000107", "000000012850", f3="200000", f60="23000001",
                    time=t("13:00:00"), f37="110209000102", f61="000001000102")  # fmt: skip
    at("13:00:00", v107)
    at("13:00:01", _response(v107, "00", "110213000107", "234567"))

    r108 = _request("0220", "000108", "000000002000", f3="200000", f60="25000001",
                    time=t("14:00:00"), f37="110209000101", f61="0000010001011102")  # fmt: skip
    at("14:00:00", r108)
    at("14:00:01", _response(r108, "00", "110214000108", None))

    p109 = _request("0100", "000109", "000000050000", f3="030000", f60="10000001",
                    f25="06", time=t("15:00:00"))  # fmt: skip
    at("15:00:00", p109)
    at("15:00:01", _response(p109, "00", "110215000109", "P10901"))

    c110 = _request("0200", "000110", "000000048000", f60="20000001", f25="06",
                    time=t("15:30:00"), f38="P10901", f61="0000010001091102")  # fmt: skip
    at("15:30:00", c110)
    at("15:30:01", _response(c110, "00", "110215000110", "P10901"))

    b111 = _request("0200", "000111", "000000000000", f3="310000", f60="01000001",
                    time=t("16:00:00"))  # fmt: skip
    del b111["4"]
    at("16:00:00", b111)
    at("16:00:01", _response(b111, "00", "110216000111", None))

    q112 = _request("0200", "000112", "000000002500", f22="031", time=t("17:00:00"))
    at("17:00:00", q112)
    at("17:00:02", _response(q112, "00", "110217000112", "345678"))

    c113 = _request("0200", "000113", "000000009990", f3="003000", time=t("18:00:00"))
    at("18:00:00", c113)
    at("18:00:01", _response(c113, "00", "110218000113", "456789"))

    lost = _request("0200", "000099", "000000001000", time=t("07:59:00"))
    at("18:30:00", _response(lost, "00", "110207000099", "567890"))
    return out


def hex_log_text() -> str:
    """The day as a switch would log it: timestamp, direction, hex; a truncated last line."""
    lines = ["# terminal 10016919, 2026-11-02 (derived fixture, see tests/helpers/iso8583_day.py)"]
    for when, doc in day_messages():
        direction = "RECV" if doc["t"][2] in "13" else "SEND"
        stamp = when.strftime("%Y-%m-%d %H:%M:%S") + ".000"
        lines.append(f"{stamp} {direction} {encode(doc).hex().upper()}")
    last = encode(day_messages()[2][1]).hex().upper()
    lines.append(f"2026-11-02 19:00:00.000 SEND {last[: len(last) // 4 * 2]}")
    return "\n".join(lines) + "\n"


def binary_log_bytes() -> bytes:
    """The day as captured on the link: 2-byte big-endian length + message, no timestamps."""
    out = bytearray()
    for _, doc in day_messages():
        raw = encode(doc)
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


def write_fixtures(folder: Path = FOLDER) -> None:
    """(Re)write the hex and binary logs."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / HEX_LOG.name).write_text(hex_log_text(), encoding="utf-8")
    (folder / BINARY_LOG.name).write_bytes(binary_log_bytes())


if __name__ == "__main__":
    write_fixtures()
