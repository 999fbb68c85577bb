"""The pages a user reads: overview, merchants, money trails, exceptions, errors, language."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from daozhang.domain.findings import ExceptionType
from daozhang.report.explain import title
from daozhang.store.tables import exceptions
from daozhang.web import i18n
from daozhang.web.app import create_app
from daozhang.web.errors import WebError
from daozhang.web.render import TEMPLATES, display_path
from tests.web.conftest import ClientFor, SimSite
from tests.web.support import TestClient, sign_in


def _ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/exceptions/(\d+)"', text)]


def _first_of_type(site: SimSite, t: ExceptionType) -> int:
    with site.ws.db.connect() as conn:
        return int(
            conn.execute(
                sa.select(exceptions.c.id).where(exceptions.c.type == t.value).limit(1)
            ).scalar_one()
        )


def test_overview_shows_money_per_day_at_stake_by_type_and_what_needs_you(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    page = client_for("boss").get("/").text
    assert "资金总览" in page
    for word in ("销售", "已结算", "已出款", "已到账", "有问题的金额", "今天需要您处理"):
        assert word in page
    assert 'id="daily-chart"' in page and 'id="chart-data"' in page
    assert "/static/vendor/chart.umd.min.js" in page
    # Every type found is listed with its money, and links to its exceptions.
    for t in ExceptionType:
        assert f'href="/exceptions?type={t.value}"' in page
        assert html.escape(title(t, "zh")) in page
    assert len(_ids(page)) == 8  # the most urgent, each clickable
    assert "¥" in page and re.search(r"¥\d+\.\d{2}", page)


def test_overview_period_can_be_chosen_and_a_bad_one_is_a_clear_400(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    boss = client_for("boss")
    start = sim_site.summary.start.isoformat()
    page = boss.get(f"/?start={start}&end={start}").text
    assert f"{start} 至 {start}" in page
    r = boss.get("/?start=yesterday")
    assert r.status_code == 400
    assert "不是日期" in r.text and "Traceback" not in r.text
    assert boss.get(f"/?start={start}&end=2000-01-01").status_code == 400


def test_merchant_list_and_money_trail(sim_site: SimSite, client_for: ClientFor) -> None:
    boss = client_for("boss")
    listing = boss.get("/merchants").text
    for mid in sim_site.merchants:
        assert f'href="/merchants/{mid}"' in listing
    late = _first_of_type(sim_site, ExceptionType.ARRIVED_LATE)
    detail = boss.get(f"/exceptions/{late}").text
    mid = re.search(r'href="/merchants/(\d{15})"', detail)
    assert mid
    trail = boss.get(f"/merchants/{mid[1]}").text
    for step in ("销售", "结算", "出款", "到账"):
        assert f'<span class="step-name">{step}</span>' in trail
    assert "state-late" in trail  # the late payout's day
    assert f'href="/exceptions/{late}"' in trail
    # Click through to a record the trail points at: file and line.
    link = re.search(r'href="(/merchants/\d{15}/record\?[^"]+)"', trail)
    assert link
    record = boss.get(html.unescape(link[1]))
    assert record.status_code == 200
    assert "amount_fen" in record.text
    # ... and to nothing else, even a real record of the workspace.
    assert boss.get(f"/merchants/{mid[1]}/record?path=/etc/passwd&line=1").status_code == 404


def test_exceptions_filter_sort_and_paginate(sim_site: SimSite, client_for: ClientFor) -> None:
    boss = client_for("boss")
    everything = boss.get("/exceptions").text
    total = int(re.search(r"共 (\d+) 个", everything)[1])  # type: ignore[index]
    assert total >= 19
    fee = boss.get("/exceptions?type=fee_mismatch").text
    assert re.search(r"共 (\d+) 个", fee)[1] == "3"  # type: ignore[index]
    assert "手续费不符" in fee
    two = boss.get("/exceptions?type=fee_mismatch&type=arrived_late&sort=due_asc").text
    assert re.search(r"共 (\d+) 个", two)[1] == "5"  # type: ignore[index]
    mid = sim_site.org_a[0]
    mine = boss.get(f"/exceptions?merchant_id={mid}").text
    assert set(re.findall(r"\b\d{15}\b", mine)) <= {mid}
    big = boss.get("/exceptions?amount_min=5000").text
    amounts = [float(a) for a in re.findall(r'class="num amount">¥([\d.]+)<', big)]
    assert amounts and min(amounts) >= 5000
    assert amounts == sorted(amounts, reverse=True)
    ascending = boss.get("/exceptions?sort=amount_asc").text
    asc = [float(a) for a in re.findall(r'class="num amount">¥([\d.]+)<', ascending)]
    assert asc == sorted(asc)
    start = sim_site.summary.start.isoformat()
    dated = boss.get(f"/exceptions?date_from={start}&date_to={start}").text
    assert int(re.search(r"共 (\d+) 个", dated)[1]) < total  # type: ignore[index]
    assert "没有符合条件的异常" in boss.get("/exceptions?amount_min=999999999").text
    assert boss.get("/exceptions?type=nonsense").status_code == 400
    assert boss.get("/exceptions?amount_min=12.345").status_code == 400
    assert boss.get("/exceptions?status=resolved").status_code == 200
    # Pagination: 50 a page.
    first, second = _ids(everything), _ids(boss.get("/exceptions?page=2").text)
    assert len(first) == min(total, 50)
    assert not set(first) & set(second)


def test_exception_detail_explains_shows_evidence_history_and_the_playbook(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    boss = client_for("boss")
    eid = _first_of_type(sim_site, ExceptionType.SETTLED_NOT_ARRIVED)
    page = boss.get(f"/exceptions/{eid}").text
    assert "已出款未到账" in page
    assert 'id="explanation"' in page
    for heading in ("发生了什么", "下一步", "联系谁", "提供什么", "证据", "处理记录"):
        assert heading in page
    assert "发现" in page  # the "opened" event
    evidence = re.findall(rf'href="/exceptions/{eid}/evidence/(\d+)"', page)
    assert evidence
    record = boss.get(f"/exceptions/{eid}/evidence/{evidence[0]}").text
    assert "src_line" in record
    assert boss.get(f"/exceptions/{eid}/evidence/99").status_code == 404
    en = boss.get(f"/exceptions/{eid}?lang=en").text
    assert "Paid out, not arrived" in en and "What happened" in en


def test_language_is_remembered_in_a_cookie(sim_site: SimSite) -> None:
    with TestClient(sim_site.app) as client:
        sign_in(client, "eve")
        r = client.get("/?lang=en")
        assert "Where the money is" in r.text
        assert "dz_lang=en" in r.headers["set-cookie"]
        later = client.get("/exceptions").text  # no ?lang: the cookie says English
        assert "<h1>Exceptions</h1>" in later
        assert 'href="/exceptions?lang=zh"' in later
        assert "资金总览" in client.get("/?lang=zh").text


def test_errors_are_pages_in_the_users_language_never_a_trace(
    sim_site: SimSite, client_for: ClientFor
) -> None:
    boss = client_for("boss")
    r = boss.get("/no/such/page")
    assert r.status_code == 404 and "找不到" in r.text
    r = boss.get("/no/such/page?lang=en")
    assert r.status_code == 404 and "Not found" in r.text
    r = boss.get("/exceptions/not-a-number")
    assert r.status_code == 400 and "Traceback" not in r.text
    r = boss.get("/api/v1/nothing", headers=sim_site.bearer("boss"))
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "找不到这个页面。"}}


def test_an_unexpected_failure_is_a_calm_500(sim_site: SimSite) -> None:
    """A route that crashes (here: one added for the test) shows no stack trace."""
    app = create_app(sim_site.ws)

    @app.get("/test-crash")
    def crash() -> None:
        raise RuntimeError("secret internals /etc/shadow")

    @app.get("/api/v1/test-crash")
    def api_crash() -> None:
        raise RuntimeError("secret internals /etc/shadow")

    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "eve")
        r = client.get("/test-crash")
        assert r.status_code == 500
        assert "出错了" in r.text and "secret" not in r.text and "Traceback" not in r.text
        r = client.get("/api/v1/test-crash")
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "internal_error"
        assert "secret" not in r.text


def test_security_headers(client_for: ClientFor) -> None:
    r = client_for("eve").get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text  # no inline script: the CSP would refuse it


def test_every_word_the_templates_ask_for_is_there_in_both_languages() -> None:
    used: set[str] = set()
    for template in Path(TEMPLATES).glob("*.html"):
        used |= set(re.findall(r"t\('([a-z0-9_]+)'[,)]", template.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in i18n.WORDS)
    assert not missing
    for key, (zh, en) in i18n.WORDS.items():
        assert zh and en, key
        assert re.findall(r"\{(\w+)\}", zh) == re.findall(r"\{(\w+)\}", en) or sorted(
            re.findall(r"\{(\w+)\}", zh)
        ) == sorted(re.findall(r"\{(\w+)\}", en)), key


@pytest.mark.parametrize(
    ("status", "word"),
    [(400, "bad_page"), (403, "need_admin"), (404, "no_such_page"), (409, "job_busy")],
)
def test_error_words_exist(status: int, word: str) -> None:
    assert i18n.say(word, "zh") != word and i18n.say(word, "en") != word
    assert WebError(status, word).code


def test_upload_paths_are_shown_without_their_temporary_folder() -> None:
    assert display_path("/tmp/daozhang-upload-ab12_x/pos/pos.csv") == "pos/pos.csv"
    assert display_path("/data/exports/pos.csv") == "/data/exports/pos.csv"
