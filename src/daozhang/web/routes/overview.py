"""The overview, the merchant list and a merchant's money trail.

All three read what the last reconcile run stored
(:mod:`daozhang.service.overview`), scoped to the viewer's merchants; a
merchant outside the scope is "not found", like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from daozhang.report.explain import title
from daozhang.service import overview as svc
from daozhang.service.exceptions import exception_record
from daozhang.web.deps import PageViewer, page_viewer, site_of
from daozhang.web.errors import WebError
from daozhang.web.i18n import say
from daozhang.web.params import page_number, parse_date
from daozhang.web.records import find_record
from daozhang.web.render import render, yuan

__all__ = ["router", "step_reason", "trail_references"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(page_viewer)])

_QUICK_DAYS = (7, 30, 90)


def _period(request: Request) -> tuple[dt.date | None, dt.date | None]:
    start = parse_date(request.query_params.get("start"), "start")
    end = parse_date(request.query_params.get("end"), "end")
    if start is not None and end is not None and end < start:
        raise WebError(400, "bad_period")
    return start, end


def _quick_ranges(end: dt.date | None) -> list[tuple[int, str, str]]:
    if end is None:
        return []
    return [(n, (end - dt.timedelta(days=n - 1)).isoformat(), end.isoformat()) for n in _QUICK_DAYS]


def chart_data(ov: svc.Overview, lang: str) -> dict[str, Any]:
    """Per-day series for the chart, in yuan strings (the chart parses them for drawing only)."""
    return {
        "labels": [d.day.isoformat()[5:] if d.day else "" for d in ov.days],
        "series": [
            {
                "key": key,
                "label": say(word, lang),
                "values": [yuan(getattr(d, key)) for d in ov.days],
            }
            for key, word in (
                ("sales_fen", "money_sold"),
                ("settled_fen", "money_settled"),
                ("paid_out_fen", "money_paid_out"),
                ("arrived_fen", "money_arrived"),
            )
        ],
        "unit": say("yuan", lang),
    }


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, viewer: PageViewer) -> Response:
    start, end = _period(request)
    ov = svc.overview(site_of(request).ws, viewer.scope, start=start, end=end)
    stake_total = sum(s.amount_fen for s in ov.at_stake)
    stake_max = max((s.amount_fen for s in ov.at_stake), default=0)
    return render(
        request,
        "overview.html",
        {
            "nav": "overview",
            "ov": ov,
            "stake_total": stake_total,
            "stake_rows": [
                {
                    "type": s.type.value,
                    "title": title(s.type, viewer.lang),
                    "count": s.count,
                    "amount_fen": s.amount_fen,
                    "share": round(100 * s.amount_fen / stake_max) if stake_max else 0,
                }
                for s in ov.at_stake
            ],
            "urgent": [exception_record(e, viewer.lang) for e in ov.urgent],
            "today": dt.date.today(),
            "chart": chart_data(ov, viewer.lang),
            "quick": _quick_ranges(ov.end),
        },
        viewer=viewer,
    )


@router.get("/merchants", response_class=HTMLResponse)
def merchants_page(request: Request, viewer: PageViewer) -> Response:
    site = site_of(request)
    merchants = svc.list_merchants(site.ws, viewer.scope)
    wanted = (request.query_params.get("q") or "").strip()[:64]
    if wanted:
        merchants = [
            m for m in merchants if wanted in m.merchant_id or wanted in (m.merchant_name or "")
        ]
    merchants.sort(key=lambda m: (-m.at_stake_fen, m.merchant_id))
    per_page = site.config.per_page
    page = page_number(request.query_params.get("page"))
    pages = max(1, -(-len(merchants) // per_page))
    return render(
        request,
        "merchants.html",
        {
            "nav": "merchants",
            "merchants": merchants[(page - 1) * per_page : page * per_page],
            "total": len(merchants),
            "page": page,
            "pages": pages,
            "q": wanted,
        },
        viewer=viewer,
    )


def step_reason(step: svc.TrailStep, day: svc.TrailDay, lang: str) -> str:
    """Why a step of a day is in its state, in plain words (exceptions say more)."""
    t = day.totals
    if step.exceptions:
        return say("step_has_exceptions", lang, n=len(step.exceptions))
    key = f"step_{step.name}_{step.state.value}"
    return say(
        key,
        lang,
        count=t.sales_count,
        sales=yuan(t.sales_fen),
        settled=yuan(t.settled_fen),
        fee=yuan(t.fee_fen),
        net=yuan(t.net_fen),
        paid=yuan(t.paid_out_fen),
        arrived=yuan(t.arrived_fen),
    )


def trail_references(trail: svc.MerchantTrail) -> set[tuple[str, int]]:
    """Every (file, line) the trail points at: the only records its page may open."""
    refs: set[tuple[str, int]] = set()
    exceptions = [e for d in trail.days for s in d.steps for e in s.exceptions]
    for e in [*exceptions, *trail.other_exceptions]:
        refs.update((v.path, v.line) for v in e.evidence)
    for d in trail.days:
        for p in d.payouts:
            if p.credit_path is not None and p.credit_line is not None:
                refs.add((p.credit_path, int(p.credit_line)))
            refs.update((a.src_path, int(a.src_line)) for a in p.attempts)
    return refs


def _trail(request: Request, viewer: PageViewer, merchant_id: str) -> svc.MerchantTrail:
    start, end = _period(request)
    trail = svc.merchant_trail(
        site_of(request).ws, viewer.scope, merchant_id[:32], start=start, end=end
    )
    if trail is None:
        raise WebError(404, "no_such_merchant", merchant=merchant_id[:32])
    return trail


@router.get("/merchants/{merchant_id}", response_class=HTMLResponse)
def trail_page(request: Request, viewer: PageViewer, merchant_id: str) -> Response:
    trail = _trail(request, viewer, merchant_id)
    lang = viewer.lang
    days = []
    for d in trail.days:
        days.append(
            {
                "day": d,
                "state": d.state.value,
                "steps": [
                    {
                        "step": s,
                        "reason": step_reason(s, d, lang),
                        "records": [exception_record(e, lang) for e in s.exceptions],
                    }
                    for s in d.steps
                ],
            }
        )
    return render(
        request,
        "trail.html",
        {
            "nav": "merchants",
            "trail": trail,
            "days": days,
            "other": [exception_record(e, lang) for e in trail.other_exceptions],
            "open_count": len({e.id for d in trail.days for s in d.steps for e in s.exceptions})
            + len(trail.other_exceptions),
            "quick": _quick_ranges(trail.days[0].totals.day if trail.days else None),
            "shown_start": request.query_params.get("start")
            or (trail.days[-1].totals.day if trail.days else ""),
            "shown_end": request.query_params.get("end")
            or (trail.days[0].totals.day if trail.days else ""),
            "period_q": "".join(
                f"&{k}={v}"
                for k in ("start", "end")
                if (v := (request.query_params.get(k) or "")[:10])
            ),
        },
        viewer=viewer,
    )


@router.get("/merchants/{merchant_id}/record", response_class=HTMLResponse)
def trail_record_page(request: Request, viewer: PageViewer, merchant_id: str) -> Response:
    """A record the merchant's trail points at (any other file and line is not found)."""
    trail = _trail(request, viewer, merchant_id)
    path = request.query_params.get("path") or ""
    try:
        line = int(request.query_params.get("line") or "")
    except ValueError:
        raise WebError(404, "no_such_record") from None
    if (path, line) not in trail_references(trail):
        raise WebError(404, "no_such_record")
    found = find_record(site_of(request).ws, path, line)
    return render(
        request,
        "record.html",
        {
            "nav": "merchants",
            "path": path,
            "line": line,
            "role": "",
            "found": found,
            "back_url": f"/merchants/{trail.merchant_id}",
            "back_label": say("back_to_trail", viewer.lang, merchant=trail.merchant_id),
        },
        viewer=viewer,
    )
