"""The resident chat embedded in a city page of another origin, in a real headless Chromium (issue 11, item 3).

The app is served on one loopback port; a plain city page that includes /embed.js is served from two
other ports: one on PLAN_ASSISTANT_EMBED_ORIGINS, one not. Marked `slow`; needs /usr/bin/chromium and
/usr/bin/chromedriver (`make browser`). Screenshots go to the temp directory (plan-assistant-embed-*.png).
"""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.errors import BUSY_MESSAGE
from assistant.limits import MINUTE, RateLimiter
from eval.process import free_port
from tests.helpers import SAMPLE_DOCS, service_settings
from tests.test_ui_browser import SHOTS, _browser_paths, chromium, serve_in_thread, stop_served, tab_clicker

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
PAGE_TITLE = "みどり野市 バス・交通のご案内"
TOKEN = "test-token"
STAFF_TABS = ("検索", "質問", "文書管理", "整合性チェック", "掲載箇所", "フィードバック")
CITY_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>バス・交通のご案内</h1><p>市内の路線バスとデマンド交通のご案内です。</p>
<script src="{app}/embed.js" data-label="計画について質問する"></script>
</body></html>
"""
# the embed page framed directly, without the script: frame-ancestors alone decides
DIRECT_PAGE = '<!doctype html><html><body><iframe id="direct" src="{app}/embed/" width="400" height="500"></iframe></body></html>'


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def _static_site(directory: Path, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    _browser_paths()
    from assistant.cli.serve import build_app
    from assistant.service import PlanAssistant

    app_port, city_port, other_port = free_port(), free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    data = tmp_path_factory.mktemp("embed-data")
    settings = service_settings(data, embed_origins=f"http://127.0.0.1:{city_port}", staff_token=TOKEN)
    svc = PlanAssistant(settings).start()
    svc.ingest([SAMPLE_DOCS], manifest=SAMPLE_DOCS / "manifest.json")
    app = build_app(settings, service=svc)
    server, thread = serve_in_thread(app, app_port)
    pages = tmp_path_factory.mktemp("city")
    (pages / "city.html").write_text(CITY_PAGE.format(title=PAGE_TITLE, app=app_url), encoding="utf-8")
    (pages / "direct.html").write_text(DIRECT_PAGE.format(app=app_url), encoding="utf-8")
    city, other = _static_site(pages, city_port), _static_site(pages, other_port)
    yield {"app": app, "app_url": app_url, "data": data,
           "city": f"http://127.0.0.1:{city_port}", "other": f"http://127.0.0.1:{other_port}"}
    for site in (city, other):
        site.shutdown()
    stop_served(server, thread)
    svc.close()


@pytest.fixture(scope="module")
def driver(sites, tmp_path_factory):
    # the console is kept: CSP violations are console errors
    d = chromium(tmp_path_factory.mktemp("chromium"), window="1280,1000", console_log=True)
    yield d
    d.quit()


def _wait(driver, condition, timeout: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _css(driver, selector: str):
    return driver.find_elements("css selector", selector)


def _console(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")]


def _open_chat(driver, url: str):
    """Open the city page, press the chat button; the panel element."""
    driver.switch_to.default_content()
    driver.get(url)
    _console(driver)  # drop what earlier pages logged
    button = _wait(driver, lambda d: _css(d, "#pa-embed-button"))[0]
    assert button.text == "計画について質問する"
    button.click()
    return _wait(driver, lambda d: [p for p in _css(d, "#pa-embed-panel") if p.is_displayed()])[0]


def _ask(driver, question: str):
    """Ask inside the embedded chat (the driver is in its frame); the finished bot message."""
    done = "#embed-chat .pa-answer, #embed-chat .pa-error"

    def finished(d):
        return d.execute_script("return [...document.querySelectorAll(arguments[0])]"
                                ".filter(e => !e.querySelector('.pa-cursor')).length", done)

    before = finished(driver)
    box = _wait(driver, lambda d: [b for b in _css(d, "#embed-question textarea") if b.is_displayed()])[0]
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", box, question)
    _css(driver, "#embed-send")[0].click()
    _wait(driver, lambda d: finished(d) > before and not _css(d, "#embed-chat .pa-cursor"))
    return _css(driver, '#embed-chat [data-testid="bot"]')[-1]


def _fetch_search(driver, app_url: str) -> str:
    """A cross-origin API call from the current page, as a city page's own script would make it."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0] + '/search', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({query: '計画期間', k: 1})})"
        ".then(r => r.json()).then(b => done('ok ' + (b.passages || []).length), e => done('refused ' + e));",
        app_url)


def test_embedded_chat_answers_with_citations_and_names_the_page(driver, sites):
    _open_chat(driver, sites["city"] + "/city.html")
    frame = _wait(driver, lambda d: _css(d, "#pa-embed-frame"))[0]
    assert frame.get_attribute("src").startswith(sites["app_url"] + "/embed/?page_url=")
    driver.switch_to.frame(frame)
    message = _ask(driver, "後期基本計画の計画期間はいつからいつまでですか")
    assert "令和10年度" in message.find_element("css selector", ".pa-answer").text
    cite = message.find_element("css selector", "details.pa-cite")
    cite.find_element("css selector", "summary").click()
    _wait(driver, lambda d: cite.find_element("css selector", ".pa-passage").is_displayed())
    assert "p.2" in cite.find_element("css selector", ".pa-page").text
    assert message.find_element("css selector", ".pa-context").text == f"（「{PAGE_TITLE}」のページからのご質問）"
    assert not _css(driver, "#embed-notice .pa-error")
    assert not _css(driver, "#tab-staff")  # the resident chat only
    driver.switch_to.default_content()
    driver.save_screenshot(str(SHOTS / "plan-assistant-embed-city.png"))
    violations = [m for m in _console(driver) if "Content Security Policy" in m]
    assert not violations, violations  # the Gradio page works under the CSP as served
    assert _fetch_search(driver, sites["app_url"]) == "ok 1"  # the API answers the allowed site (CORS)


def test_embedded_chat_says_busy_when_the_limit_is_reached(driver, sites):
    app = sites["app"]
    saved, app.state.chat_limiter = app.state.chat_limiter, RateLimiter([(1, MINUTE)])
    try:
        _open_chat(driver, sites["city"] + "/city.html")
        driver.switch_to.frame(_wait(driver, lambda d: _css(d, "#pa-embed-frame"))[0])
        assert _ask(driver, "計画期間はいつまでですか").find_elements("css selector", ".pa-answer")
        refused = _ask(driver, "公共交通の利用者数の目標は？")
        assert BUSY_MESSAGE in refused.find_element("css selector", ".pa-error").text
        assert _css(driver, "#embed-question textarea")[0].get_attribute("value") == "公共交通の利用者数の目標は？"
        driver.switch_to.default_content()
        driver.save_screenshot(str(SHOTS / "plan-assistant-embed-busy.png"))
    finally:
        app.state.chat_limiter = saved
        driver.switch_to.default_content()


def test_a_site_not_on_the_allowlist_is_refused(driver, sites):
    panel = _open_chat(driver, sites["other"] + "/city.html")
    note = _wait(driver, lambda d: _css(d, "#pa-embed-refused"))[0]
    assert "利用できません" in note.text and sites["other"] in note.text
    assert not panel.find_elements("css selector", "iframe")
    driver.save_screenshot(str(SHOTS / "plan-assistant-embed-refused.png"))
    assert _fetch_search(driver, sites["app_url"]).startswith("refused")  # no CORS for it


def _framed_chat_loads(driver, url: str) -> bool:
    """Whether the embed page, framed directly by `url`'s page, shows the chat."""
    driver.switch_to.default_content()
    driver.get(url)
    driver.switch_to.frame(_wait(driver, lambda d: _css(d, "#direct"))[0])
    try:
        _wait(driver, lambda d: _css(d, "#embed-question textarea"), timeout=10)
        return True
    except Exception:
        return False
    finally:
        driver.switch_to.default_content()


def test_frame_ancestors_blocks_the_frame_on_other_sites(driver, sites):
    assert _framed_chat_loads(driver, sites["city"] + "/direct.html")  # the control: an allowed site
    _console(driver)
    assert not _framed_chat_loads(driver, sites["other"] + "/direct.html")
    log = " ".join(_console(driver))
    assert "frame-ancestors" in log, log


def test_the_whole_ui_works_under_the_csp(driver, sites):
    """Every tab of /ui, the staff workspace included, renders without a CSP report in the console."""

    driver.switch_to.default_content()
    driver.get(sites["app_url"] + "/ui/")
    _console(driver)
    _wait(driver, lambda d: _css(d, "#resident-question textarea"))

    _wait(driver, tab_clicker("職員向け"))
    _wait(driver, lambda d: [b for b in _css(d, "#staff-token input") if b.is_displayed()])[0].send_keys(TOKEN)
    _css(driver, "#staff-login")[0].click()
    _wait(driver, lambda d: [w for w in _css(d, "#staff-workspace") if w.is_displayed()])
    for name in STAFF_TABS:
        _wait(driver, tab_clicker(name))
        time.sleep(0.5)
    assert _css(driver, "#staff-login-status")[0].text  # gr.HTML rendered (it needs 'unsafe-eval')
    violations = [m for m in _console(driver) if "Content Security Policy" in m]
    assert not violations, violations
