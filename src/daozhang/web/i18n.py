"""Every word of the web pages, Chinese first, English one click away.

Words about exceptions (titles, explanations, next steps) come from
:mod:`daozhang.report.explain`, shared with the CLI; reasons a row was set
aside from :mod:`daozhang.ingest.rejects`. What is here is the pages' own
vocabulary. A test checks that every word a template asks for is here in
both languages.

Plain words for shop owners and bookkeepers: 到账 (arrived), 出款 (paid
out), 结算 (settled), 涉及金额 (money at stake), never the internal names.
"""

from __future__ import annotations

__all__ = ["WORDS", "other_lang", "say", "wait_words"]


def other_lang(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def say(key: str, lang: str, **kw: object) -> str:
    """The word for ``key`` in ``lang``, formatted with ``kw``.

    A key that is not here (an audit action added later, a new disposition)
    is shown as it is rather than failing the page.
    """
    pair = WORDS.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "zh" else pair[1]
    return text.format(**kw) if kw else text


def wait_words(seconds: int, lang: str) -> str:
    """How long to wait, as a person says it: 45 秒, 15 分钟 / 45 seconds, 15 minutes."""
    if seconds < 60:
        return f"{seconds} 秒" if lang == "zh" else f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return f"{minutes} 分钟" if lang == "zh" else f"{minutes} minute{'s' if minutes > 1 else ''}"


_STEPS = {
    "sales": ("销售", "Sales"),
    "settlement": ("结算", "Settlement"),
    "payout": ("出款", "Payout"),
    "bank": ("到账", "Bank"),
}
_STATES = {
    "ok": ("正常", "OK"),
    "pending": ("进行中", "In progress"),
    "late": ("延迟", "Late"),
    "missing": ("缺失", "Missing"),
    "wrong": ("有误", "Wrong"),
    "none": ("无", "Nothing"),
}
# Why a step is in its state when no exception speaks about it.
_STEP_REASONS: dict[str, tuple[str, str]] = {
    "step_sales_ok": (
        "POS 记录 {count} 笔销售，共 {sales} 元。",
        "{count} sales on the POS, {sales} yuan.",
    ),
    "step_sales_none": ("当天没有销售。", "No sales that day."),
    "step_settlement_ok": (
        "收单机构已结算 {settled} 元，手续费 {fee} 元，应到账 {net} 元。",
        "The acquirer settled {settled} yuan, fee {fee} yuan: {net} yuan to be paid.",
    ),
    "step_settlement_pending": (
        "还没有结算记录，尚未到结算期限。",
        "Not settled yet, and not due yet.",
    ),
    "step_settlement_none": ("没有需要结算的交易。", "Nothing to settle."),
    "step_payout_ok": ("已出款 {paid} 元。", "{paid} yuan paid out."),
    "step_payout_pending": ("还没有出款成功的记录。", "No successful payout yet."),
    "step_payout_none": ("没有需要出款的金额。", "Nothing to pay out."),
    "step_bank_ok": ("已到账 {arrived} 元，按时。", "{arrived} yuan arrived, on time."),
    "step_bank_pending": (
        "仍在到账期内，银行还没有入账。",
        "Still inside its arrival window; no bank credit yet.",
    ),
    "step_bank_late": ("到账 {arrived} 元，但晚于预期。", "{arrived} yuan arrived, but late."),
    "step_bank_missing": (
        "已超过到账期限，银行流水中没有这笔入账。",
        "Past its arrival window, and not on the bank statement.",
    ),
    "step_bank_wrong": (
        "出款到了合同以外的账户。",
        "Paid to an account other than the contract's.",
    ),
    "step_bank_none": ("没有需要到账的金额。", "Nothing to arrive."),
}
for _step in _STEPS:
    for _state in _STATES:
        _STEP_REASONS.setdefault(
            f"step_{_step}_{_state}",
            ("见下面的异常说明。", "See the exceptions below."),
        )

_KINDS = {
    "pos_journal": ("POS 交易流水", "POS journal"),
    "settlement": ("收单结算文件", "Settlement file"),
    "payouts": ("出款记录", "Payouts"),
    "bank_statement": ("银行流水", "Bank statement"),
    "contracts": ("商户合同", "Contracts"),
    "terminals": ("终端清单", "Terminals"),
    "maintenance": ("银行维护公告", "Bank maintenance"),
    "None": ("未识别", "Not recognised"),
}

_COLUMNS = {
    "id": ("编号", "No."),
    "title": ("问题", "Problem"),
    "type": ("类型代码", "Type"),
    "status": ("状态", "Status"),
    "merchant_id": ("商户号", "Merchant ID"),
    "terminal_id": ("终端号", "Terminal ID"),
    "batch_no": ("批次号", "Batch"),
    "trace_no": ("凭证号", "Trace"),
    "rrn": ("参考号", "RRN"),
    "payout_id": ("出款单号", "Payout ID"),
    "bank_txn_id": ("银行流水号", "Bank txn ID"),
    "amount": ("涉及金额（元）", "At stake (yuan)"),
    "expected": ("应为", "Expected"),
    "actual": ("实际", "Actual"),
    "explanation": ("发生了什么", "What happened"),
    "next_action": ("下一步", "Next step"),
    "due_date": ("处理期限", "Due"),
    "opened_at": ("发现时间", "Found"),
    "resolved_at": ("解决时间", "Resolved"),
    "resolution": ("解决情况", "Resolution"),
}

_REF_COLUMNS = {
    "merchant_id": ("商户号", "Merchant ID"),
    "merchant_name": ("商户名称", "Merchant name"),
    "mcc": ("MCC", "MCC"),
    "acquirer": ("收单机构", "Acquirer"),
    "settlement_account": ("结算账户", "Settlement account"),
    "settlement_account_name": ("账户名", "Account name"),
    "settlement_bank_code": ("开户行", "Bank"),
    "cycle": ("结算周期", "Cycle"),
    "cutoff_secs": ("日切时间", "Cutoff"),
    "fee_debit_card_ppm": ("借记卡费率", "Debit card fee"),
    "cap_debit_card_fen": ("借记卡封顶（元）", "Debit card cap (yuan)"),
    "fee_credit_card_ppm": ("信用卡费率", "Credit card fee"),
    "fee_wechat_ppm": ("微信费率", "WeChat fee"),
    "fee_alipay_ppm": ("支付宝费率", "Alipay fee"),
    "fee_unionpay_qr_ppm": ("银联二维码费率", "UnionPay QR fee"),
    "effective_from": ("生效日期", "Effective from"),
    "terminal_id": ("终端号", "Terminal ID"),
    "status": ("状态", "Status"),
    "status_since": ("状态起始日", "Since"),
    "reason": ("原因", "Reason"),
    "note": ("备注", "Note"),
    "bank_code": ("银行", "Bank"),
    "starts_at": ("开始", "Starts"),
    "ends_at": ("结束", "Ends"),
    "scope": ("范围", "Scope"),
    "src_path": ("文件", "File"),
    "src_line": ("行", "Line"),
}

WORDS: dict[str, tuple[str, str]] = {
    # -- frame
    "app_name": ("到账", "daozhang"),
    "footer": (
        "到账 daozhang · 从 POS 到银行账户，每一笔钱的去向",
        "daozhang 到账 · every payment from the POS terminal to the bank account",
    ),
    "switch_lang": ("English", "中文"),
    "nav_label": ("主菜单", "Main menu"),
    "nav_overview": ("总览", "Overview"),
    "nav_merchants": ("商户", "Merchants"),
    "nav_exceptions": ("异常", "Exceptions"),
    "nav_imports": ("导入与对账", "Import & reconcile"),
    "nav_settings": ("设置", "Settings"),
    "role_admin": ("管理员", "admin"),
    "role_operator": ("操作员", "operator"),
    "role_viewer": ("只读", "viewer"),
    "logout": ("退出", "Sign out"),
    "back": ("返回", "Back"),
    "go_home": ("回到总览", "Back to the overview"),
    "prev_page": ("上一页", "Previous"),
    "next_page": ("下一页", "Next"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "yuan": ("元", "yuan"),
    "show": ("查看", "Show"),
    "from": ("从", "From"),
    "to": ("到", "To"),
    "search": ("搜索", "Search"),
    "save": ("保存", "Save"),
    "delete": ("删除", "Delete"),
    "when": ("时间", "When"),
    "who": ("操作人", "Who"),
    "details": ("详情", "Details"),
    # -- login
    "login": ("登录", "Sign in"),
    "login_title": ("登录到账", "Sign in to daozhang"),
    "login_intro": (
        "查看每一笔刷卡和扫码收款是否已经到账。",
        "See whether every card and QR payment reached the bank account.",
    ),
    "login_help": (
        "忘记密码或没有账号，请联系贵机构的管理员。",
        "Forgot your password or have no account? Ask your organisation's admin.",
    ),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码不正确。", "Wrong username or password."),
    "login_throttled": (
        "登录失败次数过多，为保护账户已暂停登录，请 {wait}后再试。",
        "Too many failed sign-ins: signing in is paused to protect the account. "
        "Try again in {wait}.",
    ),
    "login_expired": (
        "登录页面已过期，请重新输入并登录。",
        "The sign-in page expired; please sign in again.",
    ),
    # -- overview
    "overview_title": ("资金总览", "Where the money is"),
    "period_from_to": ("{start} 至 {end}", "{start} to {end}"),
    "as_of_run": ("对账截至 {as_of}（第 {run} 次对账）", "reconciled as of {as_of} (run {run})"),
    "last_n_days": ("最近 {n} 天", "Last {n} days"),
    "totals": ("合计", "Totals"),
    "money_sold": ("销售", "Sold"),
    "money_settled": ("已结算", "Settled"),
    "money_paid_out": ("已出款", "Paid out"),
    "money_arrived": ("已到账", "Arrived"),
    "money_at_stake": ("有问题的金额", "Money at stake"),
    "money_per_day": (
        "每日资金：销售 → 结算 → 出款 → 到账",
        "Per day: sold → settled → paid out → arrived",
    ),
    "n_sales": ("{n} 笔", "{n} sales"),
    "refunds": ("退货", "refunds"),
    "fee": ("手续费", "Fee"),
    "net": ("应到账", "Net due"),
    "outstanding": ("未到账", "Not arrived"),
    "n_open_exceptions": ("{n} 个未解决的异常", "{n} open exceptions"),
    "needs_you_today": ("今天需要您处理", "What needs you today"),
    "needs_you_hint": (
        "按处理期限排序，期限相同时金额大的在前。",
        "Soonest deadline first; on the same day, the most money first.",
    ),
    "nothing_urgent": ("没有需要处理的异常。", "Nothing needs you right now."),
    "at_stake_by_type": ("按问题类型的金额", "Money at stake by type"),
    "nothing_at_stake": ("这段时间没有未解决的问题。", "No open problems in this period."),
    "show_table": ("按天查看数字", "Show the numbers per day"),
    "day": ("日期", "Day"),
    "no_days": ("这段时间没有数据。", "No data in this period."),
    "no_run_title": ("还没有对账结果", "No reconcile yet"),
    "no_run_text": (
        "导入 POS 流水、结算文件、出款记录和银行流水后运行一次对账，这里就会显示钱到了哪里。",
        "Import the POS journals, settlement files, payouts and bank statements, then run a "
        "reconcile: this page then shows where the money is.",
    ),
    "go_import": ("去导入文件", "Import files"),
    # -- merchants and trail
    "merchants_title": ("商户", "Merchants"),
    "n_merchants": ("共 {n} 个商户", "{n} merchants"),
    "search_merchant": ("商户号或名称", "Merchant ID or name"),
    "no_merchants": ("没有找到商户。", "No merchants found."),
    "open_exceptions": ("未解决异常", "Open exceptions"),
    "merchant": ("商户", "Merchant"),
    "terminal": ("终端", "Terminal"),
    "money_trail_of": ("{merchant} 的资金轨迹", "Money trail of {merchant}"),
    "step_has_exceptions": ("发现 {n} 个问题：", "{n} problem(s) found:"),
    "day_details": ("明细：渠道、出款、原始记录", "Details: channels, payouts, records"),
    "sales_by_channel": ("按渠道的销售", "Sales by channel"),
    "channel": ("渠道", "Channel"),
    "channel_debit_card": ("借记卡", "Debit card"),
    "channel_credit_card": ("信用卡", "Credit card"),
    "channel_wechat": ("微信支付", "WeChat Pay"),
    "channel_alipay": ("支付宝", "Alipay"),
    "channel_unionpay_qr": ("银联二维码", "UnionPay QR"),
    "payout": ("出款", "Payout"),
    "payout_carries": ("含当天金额 / 出款总额", "Of this day / whole payout"),
    "payout_outcome": ("出款结果", "Outcome"),
    "payout_disposition": ("到账情况", "Arrival"),
    "settle_date": ("结算日", "Settle date"),
    "arrival_window_end": ("最晚应到账", "Due to arrive by"),
    "account": ("收款账户", "Account"),
    "credited_on": ("入账日", "Credited on"),
    "attempt": ("第几次", "Attempt"),
    "failure": ("失败原因", "Failure"),
    "record": ("记录", "Record"),
    "records_behind": ("相关的原始记录", "The records behind it"),
    "outcome_succeeded": ("成功", "succeeded"),
    "outcome_failed": ("失败", "failed"),
    "outcome_pending": ("处理中", "pending"),
    "outcome_returned": ("被退回", "returned"),
    "disposition_arrived": ("已按时到账", "arrived on time"),
    "disposition_arrived_late": ("已到账，但晚了", "arrived, late"),
    "disposition_in_transit": ("在途，仍在到账期内", "in transit, inside its window"),
    "disposition_settled_not_arrived": ("已出款但未到账", "paid out, not arrived"),
    "disposition_misrouted": ("出款到错误账户", "paid to the wrong account"),
    "disposition_failed_retryable": ("出款失败，可重试", "failed, can be retried"),
    "disposition_failed_action_required": ("出款失败，需先处理账户", "failed, account to fix"),
    "no_days_for_merchant": (
        "这段时间没有该商户的数据。",
        "No data for this merchant in this period.",
    ),
    "other_exceptions": ("其他未解决的问题", "Other open problems"),
    "back_to_trail": ("返回 {merchant} 的资金轨迹", "Back to the money trail of {merchant}"),
    **{f"step_{k}": v for k, v in _STEPS.items()},
    **{f"state_{k}": v for k, v in _STATES.items()},
    **_STEP_REASONS,
    # -- exceptions
    "exceptions_title": ("异常", "Exceptions"),
    "found_n": ("共 {n} 个，涉及金额 {amount} 元", "{n} found, {amount} yuan at stake"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    "filter": ("筛选", "Filter"),
    "filter_on": ("已筛选", "filtered"),
    "apply_filter": ("筛选", "Apply"),
    "clear_filter": ("清除", "Clear"),
    "type": ("类型", "Type"),
    "merchant_id": ("商户号", "Merchant ID"),
    "terminal_id": ("终端号", "Terminal ID"),
    "date_from": ("业务日期从", "Business date from"),
    "date_to": ("业务日期到", "Business date to"),
    "amount_min": ("金额不少于（元）", "Amount at least (yuan)"),
    "amount_max": ("金额不超过（元）", "Amount at most (yuan)"),
    "status": ("状态", "Status"),
    "status_open": ("未解决", "Open"),
    "status_resolved": ("已解决", "Resolved"),
    "status_all": ("全部", "All"),
    "sort": ("排序", "Sort"),
    "sort_amount_desc": ("金额从大到小", "Most money first"),
    "sort_amount_asc": ("金额从小到大", "Least money first"),
    "sort_due_asc": ("期限最近的在前", "Soonest due first"),
    "sort_due_desc": ("期限最远的在前", "Latest due first"),
    "sort_opened_desc": ("最新发现的在前", "Newest first"),
    "sort_opened_asc": ("最早发现的在前", "Oldest first"),
    "what_happened": ("发生了什么", "What happened"),
    "amount": ("涉及金额", "At stake"),
    "next_action": ("下一步", "Next step"),
    "due": ("期限", "Due"),
    "overdue": ("已逾期", "Overdue"),
    "due_today": ("今天到期", "Due today"),
    "count": ("数量", "Count"),
    "no_exceptions_found": ("没有符合条件的异常。", "No exceptions match."),
    "expected": ("应为", "Expected"),
    "actual": ("实际", "Actual"),
    "resolution": ("解决情况", "Resolution"),
    "contact": ("联系谁", "Contact"),
    "send": ("提供什么", "Send"),
    "due_rule": ("发现后 {n} 个银行工作日内", "within {n} bank working days"),
    "identifiers": ("交易和单据编号", "References"),
    "evidence": ("证据", "Evidence"),
    "evidence_hint": (
        "点击查看导入时的原始记录（卡号已脱敏）。",
        "Click to see the record as it was imported (card numbers masked).",
    ),
    "history": ("处理记录", "History"),
    "n_lines": ("{n} 行", "{n} lines"),
    "all_lines": ("其余各行", "The other lines"),
    "run_n": ("第 {run} 次对账", "run {run}"),
    "event_opened": ("发现", "found"),
    "event_changed": ("金额或情况有变化", "changed"),
    "event_resolved": ("已解决", "resolved"),
    "event_reopened": ("再次出现", "reopened"),
    "role_of_pos": ("POS 流水", "POS"),
    "role_of_sale": ("原交易", "Sale"),
    "role_of_settlement": ("结算", "Settlement"),
    "role_of_payout": ("出款", "Payout"),
    "role_of_bank": ("银行流水", "Bank"),
    "role_of_contract": ("合同", "Contract"),
    "role_of_terminal": ("终端", "Terminal"),
    "role_of_maintenance": ("维护公告", "Maintenance"),
    "back_to_exception": ("返回异常 #{id}", "Back to exception #{id}"),
    "record_of_kind": ("{kind}中的一条记录", "A record of the {kind}"),
    "record_note": (
        "金额以分为单位（amount_fen 12345 即 123.45 元）；时间为北京时间。",
        "Amounts are in fen (amount_fen 12345 is 123.45 yuan); times are Beijing time.",
    ),
    "record_not_found": (
        "找不到这条记录：它所在的文件可能已被撤回。",
        "This record is not there any more: its file may have been rolled back.",
    ),
    **{f"col_{k}": v for k, v in _COLUMNS.items()},
    **{f"kind_{k}": v for k, v in _KINDS.items()},
    # -- imports and jobs
    "imports_title": ("导入文件并对账", "Import files and reconcile"),
    "imports_intro": (
        "上传 POS 流水、结算文件、出款记录、银行流水（可多选或打包成 ZIP），"
        "系统按内容自动识别格式：各银行导出的 CSV/Excel 流水、camt.053、MT940、"
        "微信支付和支付宝账单、终端 ISO 8583 报文日志、维护公告日历（.ics）都可以直接上传。",
        "Upload POS journals, settlement files, payouts and bank statements (several at once, "
        "or a ZIP); the format is recognised from each file's content: banks' CSV/Excel "
        "exports, camt.053, MT940, WeChat Pay and Alipay bills, terminals' ISO 8583 message "
        "logs and maintenance calendars (.ics) go in as they are.",
    ),
    "step1_upload": ("第一步：上传文件", "1. Upload files"),
    "step2_reconcile": ("第二步：对账", "2. Reconcile"),
    "drop_here": ("把文件拖到这里，或点击选择文件", "Drop files here, or click to choose"),
    "drop_hint": (
        "可多选，也可上传 ZIP；每次最多 {mb} MB",
        "Several files or a ZIP; up to {mb} MB",
    ),
    "upload_and_import": ("上传并导入", "Upload and import"),
    "reconcile_hint": (
        "对账日期：按这一天判断哪些钱应该已经到账（通常是今天）。",
        "As-of date: which money should have arrived by this day (usually today).",
    ),
    "as_of_date": ("对账日期", "As of"),
    "run_reconcile": ("开始对账", "Run reconcile"),
    "viewer_cannot_import": (
        "您的账号是只读的：可以查看结果，导入和对账请联系操作员。",
        "Your account is read-only: you see the results; an operator imports and reconciles.",
    ),
    "recent_jobs": ("最近的任务", "Recent jobs"),
    "recent_imports": ("最近导入的文件", "Recently imported files"),
    "recent_runs": ("最近的对账", "Recent reconcile runs"),
    "no_imports": ("还没有导入过文件。", "No files imported yet."),
    "no_runs": ("还没有对过账。", "No reconcile runs yet."),
    "file": ("文件", "File"),
    "recognised_as": ("识别为", "Recognised as"),
    "rows_read": ("读取行数", "Rows read"),
    "rows_imported": ("导入", "Imported"),
    "rows_duplicate": ("已导入过", "Already in"),
    "rows_rejected": ("未导入", "Set aside"),
    "import_totals": (
        "共读取 {read} 行：导入 {imported} 行，已导入过 {duplicate} 行，未导入 {rejected} 行。",
        "{read} rows read: {imported} imported, {duplicate} already in, {rejected} set aside.",
    ),
    "why_set_aside": ("为什么有 {n} 行没有导入", "Why {n} rows were set aside"),
    "line_n": ("第 {n} 行", "line {n}"),
    "whole_file": ("整个文件", "whole file"),
    "all_rejects": ("查看全部未导入的行", "All rows set aside"),
    "set_aside_files": ("上传时已放在一边的文件", "Files set aside from the upload"),
    "n_files": ("{n} 个文件", "{n} files"),
    "job_kind_import": ("导入", "Import"),
    "job_kind_reconcile": ("对账", "Reconcile"),
    "job_state_unpacking": ("正在准备文件…", "Preparing the files…"),
    "job_state_importing": ("正在导入…", "Importing…"),
    "job_state_reconciling": ("正在对账…", "Reconciling…"),
    "job_state_done": ("完成", "Done"),
    "job_state_failed": ("没有完成", "Did not finish"),
    "file_status_imported": ("已导入", "imported"),
    "file_status_already_imported": (
        "此文件已导入过，未重复计入",
        "already imported, not counted again",
    ),
    "file_status_not_recognised": ("无法识别的文件", "not recognised"),
    "file_status_failed": ("无法读取", "could not be read"),
    "file_status_not_found": ("找不到文件", "not found"),
    "file_status_checked": ("可以导入", "can be imported"),
    "import_status_committed": ("已导入", "imported"),
    "import_status_failed": ("失败", "failed"),
    "import_status_rolled_back": ("已撤回", "rolled back"),
    "import_status_duplicate_file": ("重复文件", "duplicate file"),
    "import_status_running": ("进行中", "running"),
    "run_status_succeeded": ("完成", "done"),
    "run_status_failed": ("失败", "failed"),
    "run_status_running": ("进行中", "running"),
    "run_done": (
        "对账完成（第 {run} 次，截至 {as_of}）：发现 {found} 个异常；"
        "新增 {opened}，变化 {changed}，重新出现 {reopened}，已解决 {resolved}。",
        "Reconcile run {run} as of {as_of}: {found} exceptions; "
        "{opened} new, {changed} changed, {reopened} reopened, {resolved} resolved.",
    ),
    "see_overview": ("查看总览", "See the overview"),
    "see_exceptions": ("查看异常", "See the exceptions"),
    "rejects_title": ("未导入的行", "Rows set aside"),
    "n_rejects": ("共 {n} 行", "{n} rows"),
    "line": ("行", "Line"),
    "field": ("字段", "Field"),
    "value": ("值", "Value"),
    "reason": ("原因", "Reason"),
    "job_busy": (
        "正在进行另一个导入或对账，请等它完成后再试。",
        "Another import or reconcile is running; try again when it is done.",
    ),
    "job_failed": (
        "任务意外中止，请重试；如果再次发生请联系管理员。",
        "The job stopped unexpectedly; try again, and tell your admin if it happens again.",
    ),
    "import_locked": (
        "工作区正在进行另一个导入（可能来自命令行），请稍后再试。",
        "Another import is running in this workspace (perhaps from the command line); "
        "try again later.",
    ),
    "reconcile_failed": ("对账没有完成：", "The reconcile did not finish:"),
    "upload_empty": ("没有选择文件。", "No file was chosen."),
    "import_account": (
        "账号（选填）：用于没写账号的银行流水，如农行、招行借记卡、交行的导出",
        "Account number (optional): for bank exports that name none, such as ABC, CMB debit, BOCOM",
    ),
    "job_account_filled": (
        "文件没有写账号：{n} 笔流水记到了填写的账号",
        "The file names no account: {n} entries were booked to the account given",
    ),
    "job_account_unknown": (
        "文件没有写账号：{n} 笔流水暂记在占位账号下，对不上合同的结算账户。"
        "这类文件第一次上传时请填写账号。",
        "The file names no account: {n} entries are under a placeholder account that matches"
        " no contract. Give the account the first time such a file is uploaded.",
    ),
    "import_account_placeholder": ("如 6228480012345678901", "e.g. 6228480012345678901"),
    "bad_account": (
        "账号只能有数字、字母和短横线，最长 40 位。",
        "An account number has only digits, letters and dashes, at most 40.",
    ),
    "upload_nothing_to_import": (
        "上传的文件中没有可以导入的文件。",
        "Nothing in the upload can be imported.",
    ),
    "upload_too_large": (
        "上传的文件太大：每次最多 {mb} MB。请分几次上传，或先压缩成 ZIP。",
        "The upload is too large: at most {mb} MB at a time. Upload in parts, or as a ZIP.",
    ),
    "upload_too_many": ("一次最多上传 {n} 个文件。", "At most {n} files at a time."),
    "upload_bad_name": ("文件名不安全，已跳过", "unsafe file name, skipped"),
    "upload_bad_zip": ("不是有效的 ZIP 文件", "not a valid ZIP file"),
    "upload_bad_member": ("ZIP 中的这个文件已损坏，已跳过", "damaged inside the ZIP, skipped"),
    "upload_link": ("ZIP 中的链接文件，已跳过", "a link inside the ZIP, skipped"),
    "upload_encrypted": ("ZIP 中的加密文件，无法读取，已跳过", "encrypted inside the ZIP, skipped"),
    "upload_zip_members": (
        "ZIP 中的文件太多，已停止：",
        "Too many files in the ZIP; stopped:",
    ),
    "upload_unzipped_too_large": (
        "ZIP 解压后太大，已停止，没有导入任何文件：",
        "The ZIP unpacks to too much; stopped, nothing was imported:",
    ),
    "upload_zip_bomb": (
        "ZIP 中的文件压缩比异常（可能是恶意文件），已停止，没有导入任何文件：",
        "A file in the ZIP unpacks to far too much (a ZIP bomb?); stopped, nothing imported:",
    ),
    "no_such_job": (
        "找不到这个任务（服务重启后任务记录会清空）。",
        "No such job (jobs are forgotten when the server restarts).",
    ),
    "no_such_import": ("找不到编号为 {id} 的导入。", "No import number {id}."),
    # -- settings
    "settings_title": ("设置", "Settings"),
    "settings_intro": (
        "对账所依据的合同、终端、银行维护时间和节假日安排。",
        "The contracts, terminals, bank maintenance windows and holidays the reconcile relies on.",
    ),
    "tab_contracts": ("商户合同", "Contracts"),
    "tab_terminals": ("终端", "Terminals"),
    "tab_maintenance": ("银行维护", "Bank maintenance"),
    "tab_calendar": ("节假日调整", "Calendar"),
    "n_rows": ("{n} 条", "{n} rows"),
    "no_rows": ("还没有数据。", "Nothing yet."),
    "ref_intro_contracts": (
        "每个商户在每个生效日期的最新合同（后导入的覆盖先导入的）。",
        "Each merchant's contract per effective date, the last imported winning.",
    ),
    "ref_intro_terminals": (
        "每台终端的状态记录（后导入的覆盖先导入的）。",
        "Each terminal's status per date, the last imported winning.",
    ),
    "ref_intro_maintenance": (
        "银行公布的维护时间：期间的出款会顺延，到账期限也相应延长。",
        "Maintenance windows announced by banks: payouts wait, and arrival windows are extended.",
    ),
    "settings_upload_title": ("添加或替换", "Add or replace"),
    "settings_upload_hint": (
        "上传标准格式的 CSV 文件。与已有记录键相同的行会替换旧的，每次修改都会记入操作日志。",
        "Upload a file in the canonical CSV format. Rows with the same key replace the older "
        "ones; every change is written to the audit log.",
    ),
    "choose_files": ("选择文件", "Choose files"),
    "upload_settings": ("上传", "Upload"),
    "settings_wrong_files": (
        "这些文件不是此处可以修改的设置，没有导入任何文件（交易数据请在“导入与对账”页上传）：",
        "These files are not settings that can be changed here; nothing was imported (upload "
        "transaction data on the Import page):",
    ),
    "calendar_intro": (
        "日历包还不知道的节假日或调休上班日写在这里（例如国务院新公布的安排）。",
        "Holidays and make-up working days the calendar package does not know yet.",
    ),
    "date": ("日期", "Date"),
    "calendar_kind": ("这一天", "This day is"),
    "cal_working": ("银行工作日（调休上班）", "a bank working day"),
    "cal_holiday": ("节假日（不上班）", "a holiday"),
    "note": ("备注", "Note"),
    "note_example": ("例如：春节调休", "e.g. Spring Festival make-up day"),
    "no_overrides": (
        "没有自定义的日期，全部按日历包计算。",
        "No days of our own: the calendar package decides.",
    ),
    "calendar_add": ("添加或修改一天", "Add or change a day"),
    "confirm_delete_day": ("确定删除 {date} 的设置吗？", "Remove the setting for {date}?"),
    "calendar_bad_input": ("请填写日期并选择类型。", "Give a date and choose what the day is."),
    "calendar_file_broken": (
        "节假日文件有无法读取的内容，请先修正：",
        "The calendar file has lines that cannot be read; fix them first:",
    ),
    "calendar_no_such_day": ("文件中没有这一天的设置。", "That day is not in the file."),
    "audit_log": ("操作日志", "Audit log"),
    "audit_intro": (
        "谁在什么时候做了什么修改，最新的在前。",
        "Who changed what, and when; newest first.",
    ),
    "action": ("操作", "Action"),
    "target": ("对象", "Target"),
    "no_audit": ("还没有记录。", "Nothing recorded yet."),
    "older": ("更早的记录", "Older entries"),
    "audit_user_login": ("登录", "signed in"),
    "audit_user_logout": ("退出", "signed out"),
    "audit_user_add": ("添加用户", "added a user"),
    "audit_user_password": ("修改密码", "changed a password"),
    "audit_user_disable": ("停用用户", "disabled a user"),
    "audit_user_enable": ("启用用户", "enabled a user"),
    "audit_org_create": ("创建机构", "created an organisation"),
    "audit_org_merchants_assign": ("分配商户", "assigned merchants"),
    "audit_org_merchants_remove": ("移除商户", "removed merchants"),
    "audit_token_create": ("创建 API 令牌", "created an API token"),
    "audit_token_revoke": ("吊销 API 令牌", "revoked an API token"),
    "audit_import_upload": ("导入文件", "imported files"),
    "audit_reconcile_run": ("运行对账", "ran a reconcile"),
    "audit_settings_upload": ("上传设置文件", "uploaded settings"),
    "audit_settings_calendar_set": ("设置节假日", "set a calendar day"),
    "audit_settings_calendar_delete": ("删除节假日设置", "removed a calendar day"),
    **{f"refcol_{k}": v for k, v in _REF_COLUMNS.items()},
    # -- errors
    "error_title_400": ("请求有误", "Bad request"),
    "error_title_401": ("需要登录", "Please sign in"),
    "error_title_403": ("没有权限", "Not allowed"),
    "error_title_404": ("找不到", "Not found"),
    "error_title_405": ("不支持的操作", "Not supported"),
    "error_title_409": ("请稍候", "Please wait"),
    "error_title_413": ("文件太大", "Too large"),
    "error_title_422": ("无法处理", "Cannot be processed"),
    "error_title_429": ("请稍后再试", "Try again later"),
    "error_title_500": ("出错了", "Something went wrong"),
    "error_400": ("请求的内容无法读取。", "The request could not be read."),
    "error_401": ("请先登录。", "Please sign in first."),
    "error_403": ("您的账号不能进行这个操作。", "Your account may not do this."),
    "error_404": ("找不到这个页面。", "There is no such page."),
    "error_405": ("这个页面不支持这样访问。", "This page cannot be used that way."),
    "error_409": ("另一个操作正在进行。", "Another operation is running."),
    "error_413": ("上传的内容太大。", "The upload is too large."),
    "error_422": ("请求的内容无法处理。", "The request cannot be processed."),
    "error_429": ("请求太频繁，请稍后再试。", "Too many requests; try again later."),
    "error_500": (
        "服务器出了问题，没有做任何修改。请稍后重试；如果再次发生，请联系管理员。",
        "The server ran into a problem and changed nothing. Try again later, and tell your "
        "admin if it happens again.",
    ),
    "api_token_needed": (
        "需要有效的 API 令牌：请求头 Authorization: Bearer dz_...",
        "A valid API token is needed: Authorization: Bearer dz_...",
    ),
    "csrf_failed": (
        "页面已过期或来源不明，操作没有执行。请刷新页面后再试。",
        "The page expired or the request did not come from it; nothing was done. Reload the "
        "page and try again.",
    ),
    "need_operator": (
        "只读账号不能导入或对账，请联系操作员或管理员。",
        "A read-only account cannot import or reconcile; ask an operator or admin.",
    ),
    "need_admin": ("只有管理员可以修改设置。", "Only an admin may change settings."),
    "need_installation_admin": (
        "维护时间和节假日影响所有商户，只有系统管理机构的管理员可以修改。",
        "Maintenance windows and the calendar affect every merchant: only an admin of the "
        "organisation that runs the installation may change them.",
    ),
    "no_such_exception": ("找不到编号为 {id} 的异常。", "No exception number {id}."),
    "no_such_merchant": ("找不到商户 {merchant}。", "No merchant {merchant}."),
    "no_such_record": ("找不到这条记录。", "No such record."),
    "no_such_page": ("找不到这个页面。", "There is no such page."),
    "bad_date": (
        "{field} 不是日期（应为 YYYY-MM-DD）：{value}",
        "{field} is not a date (YYYY-MM-DD): {value}",
    ),
    "bad_amount": (
        "{field} 不是金额（例如 1234.50）：{value}",
        "{field} is not an amount (e.g. 1234.50): {value}",
    ),
    "bad_page": ("页码不正确。", "That is not a page number."),
    "bad_period": ("结束日期早于开始日期。", "The end is before the start."),
    "bad_type": ("没有这种异常类型：{value}", "No such exception type: {value}"),
    "bad_status": (
        "状态应为 open、resolved 或 all：{value}",
        "status must be open, resolved or all: {value}",
    ),
    "bad_sort": ("不支持这种排序：{value}", "No such order: {value}"),
    "invalid_params": ("这些参数无法读取：{fields}", "These parameters cannot be read: {fields}"),
    "report_failed": ("日报没有生成：", "The report could not be made:"),
}
