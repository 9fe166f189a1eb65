"""The run page (``redactor report``, ``redactor run --html``): one self-contained HTML file,
opened in a real browser (Debian's headless Chromium, installed here when missing), and a
canary: no DetectedText and no unmasked pixel of a sample reaches the file."""

from __future__ import annotations

import base64
import html as htmllib
import io
import json
import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from redactor.cli import app
from redactor.pipeline.records import ImageDetails, ReportRow
from redactor.reporting import Card, Region, render_page, summarize
from redactor.reporting.build import choose, thumbnail

from .conftest import SAMPLES, emulated_cos

#: A laptop screen's width, tall enough for the summary and the contact sheet's first rows.
WINDOW = (1366, 2400)
_DATA_URI = re.compile(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when it is missing; a machine that cannot
    install it fails here (the browser test is part of the suite, never skipped)."""
    found = shutil.which("chromium")
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1800, check=False)
        if done.returncode != 0:  # a stale package list: refresh it once
            subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=900, check=False)
            done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1800, check=False)
        found = shutil.which("chromium")
        if found is None:
            pytest.fail(f"chromium is needed for the page tests and could not be installed: {done.stderr[-800:]}")
    return found


def browse(
    chromium: str, page: Path, tmp: Path, *, fragment: str = "", screenshot: Path | None = None, dark: bool = False
) -> str:
    """The DOM after the page's script ran (``--dump-dom``), or a screenshot (``dark``: as
    for a reader whose system prefers dark colours)."""
    profile = tmp / "chromium-profile"
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]
    command += ["--blink-settings=preferredColorScheme=0"] if dark else []
    command += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    command.append(page.resolve().as_uri() + fragment)
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The samples redacted (replay engine) with ``--html``: DST, the report and its page."""
    dst = tmp_path_factory.mktemp("page") / "masked"
    result = CliRunner().invoke(app, ["run", str(SAMPLES), str(dst), "-e", "replay", "--html"])
    assert result.exit_code == 1, result.output  # one sample has no card: quarantined
    (report,) = (dst / ".redactor" / "reports").glob("*.jsonl")
    page = report.with_suffix(".html")
    assert page.is_file() and "page: " in result.output
    return dst, report, page


def _rows(report: Path) -> list[dict]:
    return [json.loads(line) for line in report.read_text("utf-8").splitlines() if line.strip()]


def _cards(text: str) -> list[str]:
    return re.findall(r'<li class="card".*?</li>(?=<li class="card"|</ul></section>)', text, re.S)


def test_run_html_writes_one_self_contained_page_beside_the_report(sample_run):
    dst, report, page = sample_run
    text = page.read_text("utf-8")
    rows = [r for r in _rows(report) if "source" in r]
    redacted = [r for r in rows if r["decision"] == "redacted"]
    # Nothing fetched: no external script, style, font or image; a policy forbidding fetches.
    assert "default-src 'none'" in text
    assert not re.search(r"<script[^>]+src=|<link\b|@import|url\(|@font-face", text, re.I)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text, re.I)
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert sources and all(s.startswith("data:image/jpeg;base64,") for s in sources)
    # A thumbnail per redacted image, each bounded.
    assert len(sources) == len(redacted) == 10
    for data in _DATA_URI.findall(text):
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            assert im.format == "JPEG" and max(im.size) <= 320
    # A link to each object: the outputs, and the quarantine copies (never embedded).
    for row in redacted:
        assert (dst / row["output"]).resolve().as_uri() in text
    quarantined = [r for r in rows if r["decision"] == "quarantined"]
    for card in _cards(text):
        if 'data-decision="quarantined"' in card:
            assert "<img" not in card and "quarantine: " in card
    assert len([c for c in _cards(text) if 'data-decision="quarantined"' in c]) == len(quarantined)
    # The summary: policy, its sha256, the version that ran, counts by decision.
    summary = _rows(report)[-1]
    assert summary["policy_sha256"] in text and htmllib.escape(summary["policy"]) in text
    assert summary["redactor"] in text
    assert f'data-count="redacted">{summary["summary"]["redacted"]}<' in text


def test_the_page_opens_in_headless_chromium_with_its_counts_and_thumbnails(sample_run, chromium, tmp_path):
    _, report, page = sample_run
    summary = _rows(report)[-1]["summary"]
    dom = browse(chromium, page, tmp_path)
    assert 'data-ready="1"' in dom  # the filter script ran
    assert f'data-count="redacted">{summary["redacted"]}<' in dom
    assert f'data-count="quarantined">{summary["quarantined"]}<' in dom
    assert '<output id="shown" aria-live="polite">12 of 12 shown</output>' in dom
    assert len(re.findall(r'<img src="data:image/jpeg;base64,', dom)) == 10
    # A view linked by its fragment: the filters are set and applied on opening.
    filtered = browse(chromium, page, tmp_path, fragment="#decision=quarantined")
    assert ">2 of 12 shown<" in filtered
    assert len(re.findall(r'<li class="card"[^>]*hidden', filtered)) == 10

    shot = tmp_path / "page.png"
    browse(chromium, page, tmp_path, screenshot=shot)
    with Image.open(shot) as im:
        assert im.size == WINDOW
        pixels = np.asarray(im.convert("RGB"), dtype=np.int16)
    assert pixels.std() > 20  # not blank
    # Text, tiles and a chart give a few hundred colours; the thumbnails' photos thousands.
    assert len(np.unique(pixels.reshape(-1, 3) // 8, axis=0)) > 2000
    sheet = pixels[1200:]
    assert len(np.unique(sheet.reshape(-1, 3) // 8, axis=0)) > 2000
    # Light by default, dark for a reader who prefers it.
    dark = tmp_path / "dark.png"
    browse(chromium, page, tmp_path, screenshot=dark, dark=True)
    with Image.open(dark) as im:
        night = np.asarray(im.convert("L"), dtype=np.float64)
    assert np.median(pixels[:1200].mean(axis=2)) > 200 and np.median(night[:1200]) < 60


def _truth_texts() -> set[str]:
    """Every DetectedText of the samples: the truth files' values and the sidecars' text."""
    texts: set[str] = set()
    for truth in SAMPLES.glob("*.truth.json"):
        for f in json.loads(truth.read_text("utf-8")).get("fields", []):
            if isinstance(f.get("value"), str):
                texts.add(f["value"])
    for sidecar in SAMPLES.glob("*.ailicenserec.xml"):
        texts.update(re.findall(r"<DetectedText>(.*?)</DetectedText>", sidecar.read_text("utf-8"), re.S))
    return {t.strip() for t in texts if len(t.strip()) >= 2}


def _encodings(text: str) -> set[str]:
    """The forms a string could take in an HTML file."""
    forms = {
        text,
        htmllib.escape(text),
        json.dumps(text)[1:-1],
        urllib.parse.quote(text),
        "".join(f"&#{ord(c)};" for c in text),
        "".join(f"&#x{ord(c):x};" for c in text),
    }
    raw = text.encode("utf-8")
    for pad in range(3):  # base64 of the text at each alignment, its edges dropped
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        inner = encoded[4 if pad else 0 : -4]
        if len(inner) >= 4:
            forms.add(inner)
    return {f for f in forms if f}


def test_canary_no_detected_text_reaches_the_page_in_any_encoding(sample_run):
    _, _, page = sample_run
    text = page.read_text("utf-8")
    blobs = [base64.b64decode(data) for data in _DATA_URI.findall(text)]
    text = _DATA_URI.sub("data:image/jpeg;base64,", text)  # the thumbnails are checked decoded, below
    unescaped = htmllib.unescape(text)
    texts = _truth_texts()
    assert len(texts) > 50  # the canary has something to look for
    for secret in texts:
        for form in _encodings(secret):
            assert form not in text, f"a DetectedText reached the page ({form[:3]}…)"
        assert secret not in unescaped
        for encoded in (secret.encode("utf-8"), secret.encode("utf-16-le"), secret.encode("gb18030")):
            if len(encoded) >= 6:  # shorter byte strings turn up in any JPEG by chance
                assert not any(encoded in blob for blob in blobs)


def _mask_of(points: list[list[float]], size: tuple[int, int], scale: float) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    ImageDraw.Draw(canvas).polygon([(x * scale, y * scale) for x, y in points], fill=255)
    return np.asarray(canvas) > 0


def test_canary_no_unmasked_pixels_of_a_sample_reach_the_page(sample_run):
    """Every thumbnail on the page is compared with the original's pixels, scaled the same
    way: inside each masked field they differ (the mask is there), outside the fields they
    mostly agree (the comparison is aligned); and no original of an image in doubt is embedded."""
    _, report, page = sample_run
    text = page.read_text("utf-8")
    rows = {r["source"]: r for r in _rows(report) if "source" in r}
    checked = 0
    for card in _cards(text):
        source = htmllib.unescape(re.search(r'<p class="src" title="([^"]+)"', card).group(1))
        row = rows[source]
        found = _DATA_URI.search(card)
        if row["decision"] != "redacted":
            assert found is None
            continue
        assert found is not None
        shown = Image.open(io.BytesIO(base64.b64decode(found.group(1)))).convert("RGB")
        original = Image.open(SAMPLES / source).convert("RGB")
        like = Image.open(io.BytesIO(thumbnail((SAMPLES / source).read_bytes()))).convert("RGB")
        assert like.size == shown.size
        scale = shown.size[0] / original.size[0]
        a, b = np.asarray(shown, dtype=np.int16), np.asarray(like, dtype=np.int16)
        masked = [f for f in row["fields"] if f["action"] != "keep"]
        anywhere = np.zeros(shown.size[::-1], dtype=bool)
        for f in row["fields"]:
            anywhere |= _mask_of(f["polygon"], shown.size, scale)
        for f in masked:
            inside = _mask_of(f["polygon"], shown.size, scale)
            if inside.sum() < 12:
                continue  # a field a few thumbnail pixels big says nothing either way
            diff = np.abs(a[inside] - b[inside]).mean()
            assert diff > 25, f"{source}: {f['field']} looks unmasked on the page (mean difference {diff:.1f})"
            checked += 1
        outside = np.abs(a - b).max(axis=2)[~anywhere]  # masks overrun their fields a little
        assert np.median(outside) < 4 and (outside < 12).mean() > 0.6, f"{source}: the comparison is not aligned"
    assert checked >= 40
    # The quarantined originals are nowhere: no embedded image looks like one of them.
    for source, row in rows.items():
        if row["decision"] == "quarantined":
            like = np.asarray(
                Image.open(io.BytesIO(thumbnail((SAMPLES / source).read_bytes()))).convert("RGB"), np.int16
            )
            for data in _DATA_URI.findall(text):
                other = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"), np.int16)
                assert other.shape != like.shape or np.abs(other - like).mean() > 12


def test_an_output_changed_since_the_run_is_not_shown(sample_run, tmp_path):
    """The page shows an output only when it is byte for byte what the run wrote: an
    original copied over a masked output (or anything else there) never reaches the page."""
    dst, report, _ = sample_run
    copy = tmp_path / "masked"
    shutil.copytree(dst, copy)
    shutil.copy(SAMPLES / "idcard-front-scan-0001.png", copy / "idcard-front-scan-0001.png")
    (copy / "license-scan-0007.png").unlink()
    out = tmp_path / "run.html"
    reports = copy / ".redactor" / "reports"
    result = CliRunner().invoke(app, ["report", str(reports / report.name), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 images, 8 thumbnails" in result.output  # DST inferred from the report's place
    text = out.read_text("utf-8")
    assert "has changed since the run" in text and "no longer where the run wrote it" in text
    original = thumbnail((SAMPLES / "idcard-front-scan-0001.png").read_bytes())
    assert base64.b64encode(original).decode() not in text


def test_report_beside_its_page_by_default_and_without_dst_draws_fields_only(sample_run, tmp_path):
    _, report, _ = sample_run
    moved = tmp_path / "elsewhere.jsonl"
    shutil.copy(report, moved)
    result = CliRunner().invoke(app, ["report", str(moved)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "elsewhere.html").read_text("utf-8")
    assert "<img" not in text and "redactor report --dst DST shows them" in text
    assert text.count('<li class="card"') == 12


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        (b"not json\n", "line 1 is not JSON"),
        (b"", "holds no report lines"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"no": "source"}\n', "not a report row"),
        (b"\xff\xfe\x00\n", "not UTF-8"),
    ],
)
def test_a_missing_or_corrupt_report_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "run.jsonl"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(app, ["report", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run.html").exists()


@pytest.mark.parametrize(
    "row",
    [
        {"source": 1, "decision": "redacted"},
        {"source": "a.jpg", "decision": "redacted", "reasons": [1]},
        {"source": "a.jpg", "decision": "redacted", "fields": ["x"]},
        {"source": "a.jpg", "decision": "redacted", "fields": [], "timings_ms": [1]},
        {"source": "a.jpg", "decision": "redacted", "fields": [], "size": [0, "x"]},
        {"source": "a.jpg", "decision": "redacted", "output": ["../x"]},
    ],
)
def test_a_report_row_of_the_wrong_shape_is_refused_with_its_line(tmp_path, row):
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"source": "ok.jpg", "decision": "skipped"}) + "\n" + json.dumps(row) + "\n")
    result = CliRunner().invoke(app, ["report", str(path)])
    assert result.exit_code == 2, result.output
    assert "line 2 is not a report row" in result.output and "Traceback" not in result.output


def test_html_with_a_dry_run_needs_a_report(tmp_path):
    result = CliRunner().invoke(app, ["run", str(SAMPLES), str(tmp_path / "o"), "--dry-run", "--html"])
    assert result.exit_code == 2 and "--html needs a report" in result.output


def _row(i: int, decision: str = "redacted") -> ReportRow:
    fields = [{"field": "name", "polygon": [[1, 1], [50, 1], [50, 9], [1, 9]], "action": "box"}]
    return ReportRow(
        f"d/{i:06d}.jpg",
        decision,
        ["no card found (Status 0)"] if decision != "redacted" else [],
        policy_sha256="p",
        engine="replay",
        image=ImageDetails("IDCard", [100, 60], fields, {"decode": float(i % 7), "locate": 3.0}, True),
        output=f"d/{i:06d}.jpg",
    )


def test_a_large_run_shows_every_image_in_doubt_then_a_spread_and_says_so():
    rows = [_row(i, "quarantined" if i % 50 == 0 else "redacted") for i in range(100_000)]
    shown, note = choose(rows, 1000)
    assert len(shown) == 1000
    doubt = [r for r in shown if r.decision == "quarantined"]
    assert len(doubt) == 1000 and "the first 1000 of 2000 in doubt" in note
    shown, note = choose(rows[:5000], 1000)
    assert sum(r.decision == "quarantined" for r in shown) == 100
    spread = [r.source for r in shown if r.decision == "redacted"]
    assert len(spread) == 900 and spread[0] < spread[-1] and "900 of the 4900 redacted" in note


def test_the_page_escapes_everything_it_interpolates():
    hostile = '<script>alert("x")</script>&"\''
    row = ReportRow(hostile, "quarantined", [hostile], policy_sha256=hostile, engine=hostile)
    facts = summarize(
        [row], {"summary": {}, "policy": hostile, "redactor": hostile}, report_name=hostile, rendered_by="t"
    )
    card = Card(
        hostile,
        "quarantined",
        (hostile,),
        hostile,
        (10, 10),
        (Region(((0, 0), (5, 0), (5, 5)), hostile, hostile, True),),
        href='javascript:alert("x")" onmouseover="x',
        place=hostile,
    )
    text = render_page(facts, [card], sample_note=hostile)
    assert "<script>alert" not in text and 'onmouseover="x' not in text
    assert text.count("<script>") == 1  # the page's own filter script only


def test_percentiles_and_counts_of_the_summary():
    rows = [_row(i) for i in range(10)] + [_row(10, "quarantined"), ReportRow("x.txt", "skipped", ["not an image"])]
    facts = summarize(rows, None, report_name="r", rendered_by="t")
    assert dict(facts.by_decision) == {"redacted": 10, "quarantined": 1, "skipped": 1}
    assert dict(facts.by_reason) == {"no card found (Status N)": 1}
    assert dict(facts.by_skip_reason) == {"not an image": 1}
    decode = next(t for t in facts.timings if t.stage == "decode")
    assert (decode.count, decode.p50, decode.p90) == (11, 2.0, 5.0)
    assert facts.incomplete and facts.policy_sha256 == ("p",)


BUCKET = "pages-1250000000"
SECRET_ID = "AKIDreportpage0000000000000000000000"
SECRET_KEY = "report-page-secret-key-00000000000"


@pytest.fixture
def cos(monkeypatch):
    with emulated_cos(monkeypatch, BUCKET, SECRET_ID, SECRET_KEY) as (client, _):
        yield client


def test_a_cos_destination_gets_its_page_locally_and_uploaded_on_request(cos, tmp_path):
    report = tmp_path / "run.jsonl"
    result = CliRunner().invoke(
        app,
        ["run", str(SAMPLES), f"cos://{BUCKET}/out/", "-e", "replay", "--report", str(report), "--html"],
    )
    assert result.exit_code == 1, result.output
    page = tmp_path / "run.html"
    text = page.read_text("utf-8")
    assert len(_DATA_URI.findall(text)) == 10  # the outputs, read back from COS
    assert f'href="cos://{BUCKET}/out/idcard-front-scan-0001.png"' in text
    assert f"cos://{BUCKET}/out.quarantine/noncard-0012.jpg" in text
    assert SECRET_KEY not in text and SECRET_ID not in text and "127.0.0.1" not in text
    assert not [o.key for o in cos.iter_objects(BUCKET, "out/.redactor/") if o.key.endswith(".html")]
    # Rerun (all unchanged) with --upload-report: this run's page goes next to its report.
    report2 = tmp_path / "again.jsonl"
    args = ["run", str(SAMPLES), f"cos://{BUCKET}/out/", "-e", "replay", "--report", str(report2)]
    result = CliRunner().invoke(app, [*args, "--html", "--upload-report"])
    assert result.exit_code == 1, result.output
    stored = cos.get_object(BUCKET, "out/.redactor/reports/again.html")
    assert stored == (tmp_path / "again.html").read_bytes() and b"Contact sheet" in stored
    # redactor report on the first report, its outputs read from the COS destination.
    out = tmp_path / "later.html"
    result = CliRunner().invoke(app, ["report", str(report), "--dst", f"cos://{BUCKET}/out/", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 images, 10 thumbnails" in result.output
