"""Hostile files through POST /documents and through `plan-assistant ingest` (issue 11).

Every file is built here (nothing binary is committed): path-traversal names, an XLSX zip bomb
(a 3.6 MB zip whose sheet XML is 3.5 GB), an XLSX that declares the whole sheet range, XML bombs
and external entities in an XLSX and in HTML, HTML nested 20,000 deep, a PDF that runs JavaScript
on opening, a 0-byte file, a text file renamed .pdf and a PNG renamed .xlsx. Each is refused with a
4xx JSON error whose Japanese message says what happened and what to do, or read with a warning;
nothing is written outside the data directory, memory stays bounded, and the service still answers.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.cli import main
from ingest.load import load_file
from tests.helpers import TEST_VECTOR_CACHE, sample_service

TOKEN = "attack-test-token"
STAFF = {"X-Staff-Token": TOKEN}
# Refusing any of these files reads at most its zip directory and a few KiB, and the one read
# (deep.html, 40,000 tags) needs ≈ 12 MiB: 64 MiB of Python allocations is far above that and far
# below what inflating the bomb would take (its 3.5 GiB of XML; a 50 MiB one raised the process's
# peak by 100 MiB before the check). 20 s allows for tracemalloc and a loaded 2-core machine.
MAX_PEAK_BYTES = 64 * 2**20
MAX_SECONDS = 20.0

# ---------------------------------------------------------------------- building the files
_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    b'spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    b'2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="' + _NS + b'" xmlns:r="http://'
    b'schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" '
    b'r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}
_HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>番号</t></is></c><c r="B1" t="inlineStr"><is><t>意見</t></is></c></row>'
_DATA_ROW = '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>{}</t></is></c></row>'
# nine levels of ten: "&lol9;" expands to 10⁹ × "lol", 3 GB
BILLION_LAUGHS = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)) + "]>"
EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def sheet_xml(cell: str = "バスを増やしてほしい", prolog: str = "", dimension: str = "", extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{_NS.decode()}">{dimension}'
            f"<sheetData>{_HEADER_ROW}{_DATA_ROW.format(cell)}{extra}</sheetData></worksheet>").encode()


def xlsx(sheet: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _PARTS.items():
            archive.writestr(name, data)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def zip_bomb_xlsx(gib: float = 3.5) -> bytes:
    """An XLSX whose sheet XML is `gib` GiB (blank padding between two rows): the deflate stream of
    one MiB of padding, cut by a full flush, is repeated, so the bomb is built in a second. A valid
    archive (sizes and CRC right), so a reader without a check would really inflate it all."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="' + _NS + b'"><sheetData>' + _HEADER_ROW.encode()
    tail = _DATA_ROW.format("本文").encode() + b"</sheetData></worksheet>"
    pad = b" " * 2**20
    times = int(gib * 2**30 / len(pad))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(pad) + deflate.flush(zlib.Z_FULL_FLUSH)
    data = first + block * times + deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(pad, crc)
    crc = zlib.crc32(tail, crc)
    members = [(name, *_deflated(part)) for name, part in _PARTS.items()]
    members.append(("xl/worksheets/sheet1.xml", data, crc, len(head) + len(pad) * times + len(tail)))
    return _zip(members)


def _deflated(data: bytes) -> tuple[bytes, int, int]:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    return deflate.compress(data) + deflate.flush(), zlib.crc32(data), len(data)


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """(name, deflated data, CRC-32, uncompressed size) → a zip archive (sizes below 4 GiB)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, data, crc, size in members:
        offset, raw = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(raw), 0))
        out.write(raw + data)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size,
                                    len(raw), 0, 0, 0, 0, 0, offset) + raw)
    start, listing = out.tell(), directory.getvalue()
    out.write(listing + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(listing), start, 0))
    return out.getvalue()


def text_pdf(lines: list[str]) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.setFont("HeiseiMin-W3", 12)
    for i, line in enumerate(lines):
        page.drawString(72, 750 - 20 * i, line)
    page.showPage()
    page.save()
    return buf.getvalue()


def javascript_pdf() -> bytes:
    """A PDF with text that runs JavaScript when opened (/OpenAction) and on a page's opening (/AA)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(["みどり野市 防災訓練のお知らせ",
                                                                 "令和7年9月1日に総合防災訓練を実施します。"]))))

    def script(code: str) -> DictionaryObject:
        return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(code)})

    writer._root_object[NameObject("/OpenAction")] = script("app.alert('opened');")
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): script("app.launchURL('x');")})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
            + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


@dataclass(frozen=True)
class Attack:
    name: str  # the file name sent (and written for the CLI)
    build: object  # () -> bytes
    status: int  # what POST /documents answers
    words: tuple[str, ...]  # in the message (refused) or a warning (accepted)
    cli: str = "failed"  # what `plan-assistant ingest` reports for it


ATTACKS = [
    Attack("bomb.xlsx", zip_bomb_xlsx, 422, ("展開すると", "圧縮爆弾", "上限", "保存し直して")),
    Attack("whole_range.xlsx", lambda: xlsx(sheet_xml(dimension='<dimension ref="A1:XFD1048576"/>',
                                                      extra='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')),
           422, ("1,048,576 行", "上限", "保存し直して")),
    Attack("rows_gap.xlsx", lambda: xlsx(sheet_xml(extra='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')),
           422, ("行が多すぎます", "上限", "保存し直して")),
    Attack("laughs.xlsx", lambda: xlsx(sheet_xml("&lol9;", prolog=BILLION_LAUGHS)), 422, ("DTD", "保存し直して")),
    Attack("entity.xlsx", lambda: xlsx(sheet_xml("&xxe;", prolog=EXTERNAL_ENTITY)), 422, ("DTD", "保存し直して")),
    Attack("deep.html", lambda: ("<html><body>" + "<div>" * 20_000 + "<p>防災訓練を実施します。</p>"
                                 + "</div>" * 20_000 + "</body></html>").encode(),
           200, ("入れ子が深すぎる", "テキストだけ"), cli="added"),
    Attack("script.pdf", javascript_pdf, 200, ("JavaScript", "実行していません"), cli="added"),
    Attack("empty.pdf", lambda: b"", 400, ("空のファイル",)),
    Attack("note.pdf", lambda: "これはテキストです。\n拡張子だけが pdf です。\n".encode(), 422,
           ("拡張子は .pdf", "PDF ではない", "再投入")),
    Attack("picture.xlsx", png, 422, ("拡張子は .xlsx", "PNG 画像", "PDF に変換")),
]


def files_outside(root: Path, data_dir: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and data_dir not in p.parents}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # the data directory two levels down, so that "../../x" from its upload directory stays observable
    root = tmp_path_factory.mktemp("attacks")
    svc = sample_service(root / "a" / "b" / "data", staff_token=TOKEN)
    svc.root = root
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def client(service):
    with TestClient(create_app(service.settings, service=service)) as c:
        yield c


def raw_upload(client, filename: str, content: bytes):
    """POST /documents with the file name sent byte for byte (httpx would percent-encode a NUL)."""
    boundary = "attack-boundary-7c1f"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/documents", content=body,
                       headers={**STAFF, "Content-Type": f"multipart/form-data; boundary={boundary}"})


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["message"]


def assert_still_answers(client) -> None:
    assert client.get("/health").json()["documents"] >= 10
    r = client.post("/search", json={"query": "デマンド型乗合タクシー", "k": 3})
    assert r.status_code == 200 and r.json()["passages"]


# ---------------------------------------------------------------------- names
@pytest.mark.parametrize("filename", ["../../etc/x.pdf", "/etc/x.pdf", "..\\..\\etc\\x.pdf",
                                      "C:\\Windows\\System32\\x.pdf", "x\x00.pdf", "../../../../../../tmp/x.pdf"])
def test_a_hostile_name_lands_in_the_upload_directory(client, service, filename):
    uploads = service.settings.data_dir / "uploads"
    before = files_outside(service.root, service.settings.data_dir)
    r = raw_upload(client, filename, text_pdf(["みどり野市 防災訓練", "訓練は9月1日です。"]))
    try:
        assert r.status_code == 200, r.text
        assert r.json()["doc_id"] == "x" and r.json()["status"] in ("added", "replaced")
        assert (uploads / "x.pdf").is_file()
        assert files_outside(service.root, service.settings.data_dir) == before
        assert not Path("/etc/x.pdf").exists() and not Path("/tmp/x.pdf").exists()
    finally:
        client.delete("/documents/x", headers=STAFF)
        (uploads / "x.pdf").unlink(missing_ok=True)
    assert_still_answers(client)


def test_a_very_long_name_is_shortened():
    from ingest.uploads import safe_name

    name = safe_name("計画" * 200 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 255 and "/" not in name


# ---------------------------------------------------------------------- hostile contents, via the API
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_hostile_upload_is_refused_or_read_with_a_reason(client, service, attack):
    content = attack.build()
    uploads = service.settings.data_dir / "uploads"
    before = files_outside(service.root, service.settings.data_dir)
    stored_before = set(uploads.iterdir()) if uploads.exists() else set()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        r = client.post("/documents", headers=STAFF, files={"file": (attack.name, content, "application/octet-stream")})
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - len(content) * 3  # the request body is held a few times
    finally:
        tracemalloc.stop()
    stem = attack.name.rsplit(".", 1)[0]
    try:
        if attack.status == 200:
            assert r.status_code == 200, r.text
            text = " ".join(r.json()["warnings"])
        else:
            text = assert_error(r, attack.status)
            assert stem not in {d.doc_id for d in service.documents()}
            assert set(uploads.iterdir()) == stored_before  # the refused file is not kept
        assert all(word in text for word in attack.words), text
        assert str(service.settings.data_dir) not in text  # the server's paths are not shown
    finally:
        client.delete(f"/documents/{stem}", headers=STAFF)
    assert elapsed < MAX_SECONDS and peak < MAX_PEAK_BYTES, (elapsed, peak)
    assert files_outside(service.root, service.settings.data_dir) == before
    assert_still_answers(client)


def test_a_failed_reupload_keeps_the_indexed_file(client, service):
    """Uploading a broken file under the name of an indexed one leaves the indexed one's file as it was."""
    good = "みどり野市アプリ検討会\n第１回検討会は令和７年５月に開催した。\n".encode()
    assert client.post("/documents", headers=STAFF, files={"file": ("app.txt", good, "text/plain")}).status_code == 200
    try:
        r = client.post("/documents", headers=STAFF, files={"file": ("app.txt", png(), "text/plain")})
        assert "PNG" in assert_error(r, 422)
        assert (service.settings.data_dir / "uploads" / "app.txt").read_bytes() == good
        assert "app" in {d.doc_id for d in service.documents()}
        assert not [p for p in (service.settings.data_dir / "uploads").iterdir() if p.name.startswith(".")]
    finally:
        client.delete("/documents/app", headers=STAFF)


# ---------------------------------------------------------------------- what the readers make of entities
@pytest.mark.parametrize("name, content", [
    ("laughs.html", ("<?xml version='1.0'?>" + BILLION_LAUGHS + "<html><body><p>防災訓練 &lol9; のお知らせ</p></body></html>")),
    ("entity.html", ("<?xml version='1.0'?>" + EXTERNAL_ENTITY + "<html><body><p>防災訓練 &xxe; のお知らせ</p></body></html>")),
])
def test_html_entities_are_never_expanded(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    text = load_file(path).text
    assert "防災訓練" in text and "lollol" not in text and "root:" not in text
    assert len(text) < 200


# ---------------------------------------------------------------------- the same files, via the CLI
@pytest.mark.slow
def test_hostile_files_through_the_ingest_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAN_ASSISTANT_VECTOR_CACHE", str(TEST_VECTOR_CACHE))
    folder, data_dir = tmp_path / "incoming", tmp_path / "data"
    folder.mkdir()
    for attack in ATTACKS:
        (folder / attack.name).write_bytes(attack.build())
    (folder / "a\\..\\..\\evil.txt").write_text("バックスラッシュを含む名前のファイルです。\n", encoding="utf-8")
    before = files_outside(tmp_path, data_dir)
    started = time.perf_counter()
    code = main(["--data-dir", str(data_dir), "ingest", str(folder), "--json", "--quiet"])
    elapsed = time.perf_counter() - started
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # something failed
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    for attack in ATTACKS:
        result = by_name[attack.name]
        assert result["status"] == attack.cli, result
        text = result["reason"] if attack.cli == "failed" else " ".join(result["warnings"])
        assert all(word in text for word in attack.words), result
    assert by_name["a\\..\\..\\evil.txt"]["status"] == "added"
    assert files_outside(tmp_path, data_dir) == before  # the index and registry only, inside the data directory
    assert elapsed < 60, elapsed
    assert main(["--data-dir", str(data_dir), "search", "防災訓練", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {p["doc"] for p in found} >= {"script", "deep"}
    assert not os.path.exists("/etc/x.pdf")


def test_a_reader_crash_is_a_clear_refusal(tmp_path, monkeypatch):
    """A parser's own exception (here a stack overflow) becomes a one-line refusal, not a crash of the batch."""
    import ingest.load
    from assistant.errors import UnreadableDocument

    def overflowing(path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(ingest.load.READERS, ".txt", overflowing)
    path = tmp_path / "plan.txt"
    path.write_text("本文です。\n", encoding="utf-8")
    with pytest.raises(UnreadableDocument, match="読み取れませんでした（RecursionError）: plan.txt。.*再投入"):
        load_file(path)
