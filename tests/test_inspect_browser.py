"""The 読み取り確認 tab in a real headless Chromium: a member of staff picks an indexed document,
sees one row per page with how it was read, and clicks a page to see its indexed text.

Marked `slow`; the server (the sample documents, staff token) and the browser come from
tests/test_ui_browser.py. Skipped without /usr/bin/chromium and /usr/bin/chromedriver (`make browser`).
A screenshot is written to the temp directory (plan-assistant-ui-inspect.png).
"""

from __future__ import annotations

import pytest

from tests.test_ui_browser import SHOTS, Page, driver, server  # noqa: F401 (fixtures used by name)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]
DOC_LABEL = "（midorino_sogo_keikaku_kouki_soan・"  # the sample plan PDF: 12 pages, all from the text layer
READ_TIMEOUT_S = 240  # reading the 12 pages takes ≈ 3 s; other jobs on the 2 cores have made it 60 s+


def choose(page: Page, selector: str, text: str) -> None:
    """Pick the option of a Gradio dropdown whose label contains `text`."""
    from selenium.webdriver.common.by import By

    page.css(f"{selector} input", visible=True).click()

    def click(d):
        for option in d.find_elements(By.CSS_SELECTOR, "[data-testid='dropdown-option']"):
            if text in option.text and option.is_displayed():
                option.click()
                return True
        return False

    page.wait.until(click)


def page_rows(page: Page) -> tuple[int, list[list[str]]]:
    """(rows of the page table, the cells of the rows drawn): the table is virtualised."""
    count = page.css("#staff-inspect-pages [role=grid]").get_attribute("aria-rowcount")
    cells = page.d.execute_script(
        "return [...document.querySelectorAll('#staff-inspect-pages [role=row].virtual-row')]"
        ".map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))")
    return int(count or 1) - 1, cells  # aria-rowcount counts the header row


def test_staff_sees_how_each_page_was_read_and_its_indexed_text(server, driver):  # noqa: F811
    from selenium.webdriver.support.ui import WebDriverWait

    page = Page(driver, server["url"])
    page.login()
    page.tab("読み取り確認")
    choose(page, "#staff-inspect-doc", DOC_LABEL)  # picking it reads it (≈ 3 s alone, far more under load)
    WebDriverWait(page.d, READ_TIMEOUT_S).until(
        lambda d: "12ページを読み取りました" in page.css("#staff-inspect-status").text)
    page.wait.until(lambda d: page_rows(page)[0] == 12)
    drawn = page_rows(page)[1]
    assert [r[0] for r in drawn] == [str(n) for n in range(1, len(drawn) + 1)] and len(drawn) >= 5
    assert all(r[2] == "読み取り済み" and r[3] == "テキスト層" for r in drawn), drawn
    assert "索引：12ページ" in page.css("#staff-inspect-summary").text

    page.css("#staff-inspect-pages [data-testid='cell-1-0']", visible=True).click()  # the row of page 2
    text = page.css("#staff-inspect-text #staff-inspect-page-2", visible=True)
    page.wait.until(lambda d: "チャンク" in text.text)
    assert "p.2：読み取り済み・テキスト層" in text.text and "令和10年度" in text.text
    page.d.execute_script("arguments[0].scrollIntoView()", page.css("#staff-inspect-pages"))
    page.d.save_screenshot(str(SHOTS / "plan-assistant-ui-inspect.png"))


def test_inspect_tab_needs_a_document(server, driver):  # noqa: F811
    page = Page(driver, server["url"])
    page.login()
    page.tab("読み取り確認")
    page.css("#staff-inspect-run", visible=True).click()
    page.wait.until(lambda d: "確認する文書を選んでください" in page.css("#staff-inspect-status").text)
