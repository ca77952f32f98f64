"""The Gradio UI in a real headless Chromium, served by uvicorn on a free local port.

Marked `slow`. Needs /usr/bin/chromium and /usr/bin/chromedriver (`make browser`); skipped when absent.
Screenshots of the chat are written to the temp directory (plan-assistant-ui-*.png).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.types import VERDICT_LABELS
from eval.process import free_port
from tests.helpers import SAMPLE_DOCS as SAMPLES
from tests.helpers import service_settings
from ui import render

TOKEN = "test-token"
MEMO_QUESTION = "旧桜田小学校の跡地はどうする方針ですか"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
XSS_DOC = ("みどり野市の花は<img src=x onerror=\"window.__xss=3\">コスモスです。\n"
           "<script>window.__xss=4</script>みどり野市の木はケヤキで、市制施行を記念して定められました。\n")
SHOTS = Path(tempfile.gettempdir())
# a draft for the check: the period's end differs from the sample plan (令和10年度), the bus target agrees with it
CHECK_DRAFT = ("後期基本計画の計画期間は、令和６年度から令和12年度までの７年間とします。\n"
               "路線バス・コミュニティバスの年間利用者数は、令和10年度に1,200千人を目指します。")
CHECK_ROWS = "#staff-check-result details.pa-row"
pytestmark = [
    pytest.mark.slow,  # the whole module, so `-m "not slow"` never starts a server or a browser
    # gradio's Dataframe postprocessing warns about pandas options it uses; not ours to fix
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),
]


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (Path(chromium).exists() and Path(driver).exists()):
        pytest.skip("headless Chromium not found (needs /usr/bin/chromium and /usr/bin/chromedriver): "
                    "run `make browser` (apt-get install chromium chromium-driver)")
    return chromium, driver


# ---------------------------------------------------------------------- fast: rendering is escaped
def test_rendered_messages_escape_html():
    answer = {"answer": f"答え{XSS}です[1]", "citations": [{"n": 1, "doc": "d", "title": XSS, "section": "<b>節</b>",
                                                          "page": 3, "text": f"本文{XSS}\n\n次の段落"}]}
    message = render.answer_message(answer)
    html = message + render.question_message(XSS) + render.highlight(XSS, ["img"])
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "<mark>img</mark>" in html
    # each block is one line of HTML, so the chat's markdown renderer never parses inside it
    assert all("\n" not in block and block.startswith("<div") for block in message.split("\n\n"))


def test_staff_features_are_refused_until_a_token_is_configured():
    from ui.staff import make_authorizer

    refusal = make_authorizer(Settings(staff_token=None))("anything")
    assert refusal and "PLAN_ASSISTANT_STAFF_TOKEN" in refusal
    authorize = make_authorizer(Settings(staff_token=TOKEN))
    assert authorize(TOKEN) is None and authorize("test-toke") and authorize(None)


def test_check_report_exports_to_csv_and_excel(tmp_path):
    from openpyxl import load_workbook

    from ui import reports

    statement = {"id": "s1", "text": "計画期間は令和12年度まで", "section": "総論", "verdict": "conflict",
                 "explanation": "期間の終期が異なります", "draft_values": ["令和12年度"], "evidence_values": ["令和10年度"],
                 "evidence": [{"doc": "plan", "title": "後期基本計画", "section": "計画の期間", "page": 2,
                               "text": "…", "sentence": "計画期間は令和10年度まで"}]}
    report = {"statements": [statement, {**statement, "id": "s2", "verdict": "consistent"}], "gaps": []}
    rows = reports.check_rows(reports.filter_statements(report, ["conflict"]))
    assert len(rows) == 1 and rows[0][1] == "相違あり" and rows[0][9] == 2
    assert "相違" in reports.to_csv(reports.CHECK_COLUMNS, rows)
    reports.to_xlsx(reports.CHECK_COLUMNS, rows, tmp_path / "check.xlsx")
    sheet = load_workbook(tmp_path / "check.xlsx").active
    assert sheet["B2"].value == "相違あり" and sheet["K2"].value == "計画期間は令和10年度まで"


# ---------------------------------------------------------------------- the served app
def serve_in_thread(app, port: int | None = None):
    """uvicorn serving `app` on a loopback port in a daemon thread, started; stop with `stop_served`."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port or free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    assert server.started, "uvicorn did not start"
    return server, thread


def stop_served(server, thread) -> None:
    server.should_exit = True
    thread.join(timeout=15)


def tab_clicker(name: str):
    """A wait condition that clicks the visible Gradio tab called `name` (true once clicked)."""
    from selenium.webdriver.common.by import By

    def click(d):
        for button in d.find_elements(By.XPATH, f"//button[@role='tab' and normalize-space()='{name}']"):
            if button.is_displayed():
                button.click()
                return True
        return False

    return click


def chromium(profile_dir: Path, window: str = "1280,1400", console_log: bool = False):
    """Headless Chromium through chromedriver, with its own profile; `console_log` keeps the page console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, chromedriver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile_dir}", f"--window-size={window}", "--lang=ja"):
        options.add_argument(arg)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _browser_paths()
    from assistant.cli.serve import build_app  # the app `serve` runs: the API with the UI at /ui
    from assistant.service import PlanAssistant

    data = tmp_path_factory.mktemp("ui-data")
    settings = service_settings(data, staff_token=TOKEN, max_upload_mb=1)
    svc = PlanAssistant(settings).start()
    svc.ingest([SAMPLES], manifest=SAMPLES / "manifest.json")
    xss_doc = tmp_path_factory.mktemp("docs") / "midorino_shinoki.txt"
    xss_doc.write_text(XSS_DOC, encoding="utf-8")
    assert svc.ingest_one(xss_doc, {"audience": "public"}).status == "added"
    server, thread = serve_in_thread(build_app(settings, service=svc))
    yield {"url": f"http://127.0.0.1:{server.config.port}/ui/", "data": data}
    stop_served(server, thread)
    svc.close()


@pytest.fixture(scope="module")
def driver(server, tmp_path_factory):
    d = chromium(tmp_path_factory.mktemp("chromium"))
    yield d
    d.quit()


class Page:
    """A few helpers over selenium for the Gradio page."""

    def __init__(self, driver, url: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.d.get(url)
        self.wait = WebDriverWait(driver, 60)
        self.css("#resident-question textarea")

    def css(self, selector: str, visible: bool = False):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        condition = EC.visibility_of_element_located if visible else EC.presence_of_element_located
        return self.wait.until(condition((By.CSS_SELECTOR, selector)))

    def all(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def tab(self, name: str) -> None:
        self.wait.until(tab_clicker(name))

    def type(self, selector: str, text: str) -> None:
        """Set a textbox through an input event (fast for long text, the same for Gradio)."""
        el = self.css(selector, visible=True)
        self.d.execute_script("arguments[0].value = arguments[1];"
                              "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", el, text)

    def finished(self, prefix: str) -> int:
        return self.d.execute_script(
            "return [...document.querySelectorAll(arguments[0])].filter(e => !e.querySelector('.pa-cursor')).length",
            f"#{prefix}-chat .pa-answer, #{prefix}-chat .pa-error")

    def ask(self, question: str, prefix: str = "resident"):
        """Send a question and return the bot message element once the answer is complete."""
        before = self.finished(prefix)
        self.type(f"#{prefix}-question textarea", question)
        self.css(f"#{prefix}-send").click()
        self.wait.until(lambda d: self.finished(prefix) > before and not self.all(f"#{prefix}-chat .pa-cursor"))
        return self.all(f'#{prefix}-chat [data-testid="bot"]')[-1]

    def login(self, token: str = TOKEN) -> None:
        self.tab("職員向け")
        box = self.css("#staff-token input", visible=True)
        box.clear()
        box.send_keys(token)
        self.css("#staff-login").click()


@pytest.fixture
def page(server, driver):
    return Page(driver, server["url"])


def test_answer_has_citations_that_open_the_passage_and_page(page):
    message = page.ask("後期基本計画の計画期間はいつからいつまでですか")
    assert "令和10年度" in message.find_element("css selector", ".pa-answer").text
    cite = message.find_element("css selector", "details.pa-cite")
    passage = cite.find_element("css selector", ".pa-passage")
    assert "p.2" in cite.find_element("css selector", "summary").text
    assert not passage.is_displayed()
    cite.find_element("css selector", "summary").click()
    page.wait.until(lambda d: passage.is_displayed())
    assert "令和10年度" in passage.text and "p.2" in passage.find_element("css selector", ".pa-page").text
    page.d.save_screenshot(str(SHOTS / "plan-assistant-ui-chat.png"))


def test_example_question_and_follow_up(page):
    before = page.finished("resident")
    page.css(".pa-example", visible=True).click()  # 「計画期間はいつまでですか？」
    page.wait.until(lambda d: page.finished("resident") > before and not page.all("#resident-chat .pa-cursor"))
    assert page.all("#resident-chat details.pa-cite")
    follow_up = page.ask("前期基本計画はいつまで？")
    assert follow_up.find_elements("css selector", "details.pa-cite")


def test_html_in_a_question_or_a_document_is_shown_as_text(page):
    page.ask(XSS + "について教えて")
    question = page.all('#resident-chat [data-testid="user"]')[-1]
    assert XSS in question.text
    message = page.ask("みどり野市の木は何ですか")
    for summary in message.find_elements("css selector", "details.pa-cite summary"):
        summary.click()
    time.sleep(0.5)
    assert "<script>window.__xss=4</script>" in message.text
    assert page.d.execute_script("return window.__xss") is None
    page.d.save_screenshot(str(SHOTS / "plan-assistant-ui-escaped.png"))


def test_resident_chat_never_shows_staff_documents(page):
    message = page.ask(MEMO_QUESTION)
    for summary in message.find_elements("css selector", "details summary"):
        summary.click()
    text = message.text
    assert "売却" not in text and "庁内" not in text


def test_errors_are_readable_messages(page):
    page.ask("")
    assert "質問が空です" in page.all("#resident-chat .pa-error")[-1].text
    page.ask("計画" * 10_000)
    assert "長すぎ" in page.all("#resident-chat .pa-error")[-1].text
    assert "Traceback" not in page.d.page_source


def test_feedback_is_stored_with_question_answer_and_citations(page, server):
    page.ask("公共交通の利用者数の目標は？")
    page.all('#resident-chat button[aria-label="Dislike"]')[-1].click()
    page.type("#resident-feedback-reason textarea", "出典のページを確認したい")
    page.css("#resident-feedback-send").click()
    path = server["data"] / "feedback.jsonl"
    page.wait.until(lambda d: path.exists() and "出典のページを確認したい" in path.read_text(encoding="utf-8"))
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rated = [e for e in events if e.get("question") == "公共交通の利用者数の目標は？"]
    assert rated and rated[-1]["rating"] == "bad" and rated[-1]["citations"]


def test_staff_workspace_needs_the_token_and_searches(page):
    page.login("wrong-token")
    page.wait.until(lambda d: "正しくありません" in page.css("#staff-login-status").text)
    assert not page.all("#staff-search-query")
    page.login()
    page.type("#staff-search-query textarea", "旧桜田小学校 跡地")
    page.css("#staff-search-run").click()
    page.wait.until(lambda d: "旧桜田" in page.css("#staff-search-results").text)
    assert "p.1" in page.css("#staff-search-results").text


def test_staff_upload_refuses_unsupported_and_too_large_files(page, tmp_path):
    good = tmp_path / "kentoukai_oshirase.txt"
    good.write_text("みどり野市アプリ検討会を令和７年５月に開催します。\n", encoding="utf-8")
    docx = tmp_path / "minutes.docx"
    docx.write_bytes(b"PK\x03\x04 not really a docx")
    big = tmp_path / "big.txt"
    big.write_text("あ" * 600_000, encoding="utf-8")  # 1.8 MB, over max_upload_mb=1
    page.login()
    page.tab("文書管理")
    page.css("#staff-upload input[type=file]").send_keys("\n".join(str(p) for p in (good, docx, big)))
    page.wait.until(lambda d: len(page.all("#staff-upload .file-preview tr")) == 3 and "1.7 MB" in
                    d.find_element("css selector", "#staff-upload").text)
    page.css("#staff-ingest").click()
    page.wait.until(lambda d: "big.txt" in page.css("#staff-ingest-status").text)
    status = page.css("#staff-ingest-status").text
    assert "追加" in status and "対応していない形式" in status and "大きすぎ" in status
    page.wait.until(lambda d: "kentoukai_oshirase" in page.css("#staff-doc-list").text)


def run_check(page) -> None:
    """Paste CHECK_DRAFT into the 整合性チェック tab and run the check until its table shows a conflict."""
    page.login()
    page.tab("整合性チェック")
    page.type("#staff-check-draft textarea", CHECK_DRAFT)
    page.css("#staff-check-run").click()
    page.css(f"{CHECK_ROWS}.pa-v-conflict > summary")


def verdict_filter(page, label: str):
    from selenium.webdriver.common.by import By

    return page.d.find_element(By.XPATH, f"//*[@id='staff-check-filter']//label[normalize-space()='{label}']")


def test_consistency_check_shows_a_table_with_both_passages(page):
    run_check(page)
    row = page.css(f"{CHECK_ROWS}.pa-v-conflict > summary")
    assert "相違" in row.text
    row.click()
    side = page.css("#staff-check-result details.pa-row.pa-v-conflict .pa-side", visible=True)
    marks = [m.text for m in side.find_elements("css selector", "mark")]
    assert "令和12年度" in marks and "令和10年度" in marks
    page.d.save_screenshot(str(SHOTS / "plan-assistant-ui-check.png"))
    verdict_filter(page, "相違あり").click()
    page.wait.until(lambda d: not page.all("#staff-check-result details.pa-v-conflict"))


def test_consistency_check_exports_the_shown_conflicts_to_excel(page, server):
    """Issue 10: paste a draft, filter to conflicts, open one, see both passages marked, export to Excel."""
    from openpyxl import load_workbook

    from ui import reports

    conflict = VERDICT_LABELS["conflict"]
    run_check(page)
    assert page.all(f"{CHECK_ROWS}:not(.pa-v-conflict)"), "the draft's bus target should not be a conflict"
    for label in VERDICT_LABELS.values():
        if label != conflict:
            verdict_filter(page, label).click()
    page.wait.until(lambda d: not page.all(f"{CHECK_ROWS}:not(.pa-v-conflict)"))
    shown = page.all(CHECK_ROWS)
    assert shown
    shown[0].find_element("css selector", "summary").click()
    draft_side, evidence_side = page.css(f"{CHECK_ROWS} .pa-side", visible=True).find_elements("css selector", ".pa-col")
    draft_marks = {m.text for m in draft_side.find_elements("css selector", ".pa-text mark")}
    evidence_marks = {m.text for m in evidence_side.find_elements("css selector", ".pa-evidence > .pa-text mark")}
    assert "令和12年度" in draft_side.text and draft_marks and evidence_marks

    page.css("#staff-check-xlsx").click()
    link = page.css("#staff-check-download a[data-testid='download-link']", visible=True)
    href = link.get_attribute("href")
    assert href.startswith(server["url"].removesuffix("ui/")) and href.endswith(".xlsx"), href
    assert "書き出しました" in page.css("#staff-check-status").text
    with urllib.request.urlopen(href, timeout=30) as response:  # what the browser's download link fetches
        rows = [list(r) for r in load_workbook(io.BytesIO(response.read())).active.iter_rows(values_only=True)]
    assert rows[0] == reports.CHECK_COLUMNS
    judged = [r for r in rows[1:] if r[1] in VERDICT_LABELS.values()]  # the others are 素案に記載なし (gaps)
    assert judged and {r[1] for r in judged} == {conflict}, rows
    assert {r[1] for r in rows[1:]} <= {conflict, "素案に記載なし"}
    assert len({r[0] for r in judged}) == len(shown)  # one statement per row shown, evidence one line each
    assert {r[2] for r in judged} == {CHECK_DRAFT.splitlines()[0]}  # it holds 令和12年度
    assert any("令和10年度" in (r[10] or "") for r in judged)  # the 後期基本計画 passage among the evidence
    draft_values, evidence_values = (set((judged[0][i] or "").split("、")) - {""} for i in (5, 6))
    assert draft_values == draft_marks and evidence_marks <= evidence_values, (judged[0], draft_marks, evidence_marks)


def test_where_covered_tab(page):
    page.login()
    page.tab("掲載箇所")
    page.type("#staff-where-measure textarea", "デマンド型乗合タクシー")
    page.css("#staff-where-run").click()
    result = page.css("#staff-where-result .pa-doc", visible=True)
    assert "地域公共交通計画" in result.text
