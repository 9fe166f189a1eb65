"""How long a run page takes to open in headless Chromium, measured by the browser itself:
``python3 -m tests.page_bench PAGE.html [--runs N]``. A copy of the page gets one extra
inline script that writes the navigation timings into the DOM at the load event; the DOM
is read with ``--dump-dom``. Also the wall time of a whole ``chromium --headless
--screenshot`` of the page, against the same for an empty page (the browser's start-up)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

_PROBE = """<script>addEventListener('load',function(){var n=performance.getEntriesByType('navigation')[0];
var p={};performance.getEntriesByType('paint').forEach(function(e){p[e.name]=e.startTime;});
document.body.setAttribute('data-timing',JSON.stringify({dom_content_loaded:n.domContentLoadedEventEnd,
load:n.loadEventStart,first_contentful_paint:p['first-contentful-paint']||null,
images:document.images.length}));});</script>"""


def _chromium(args: list[str], profile: Path) -> tuple[float, str]:
    command = [
        shutil.which("chromium") or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1366,900",
        *args,
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("page", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        probed = folder / "probed.html"
        text = options.page.read_text("utf-8")
        probed.write_text(text.replace("</body>", _PROBE + "</body>", 1), "utf-8")
        empty = folder / "empty.html"
        empty.write_text("<!doctype html><title>empty</title><p>empty</p>", "utf-8")
        timings, walls, blanks = [], [], []
        for _ in range(options.runs):
            _, dom = _chromium(["--dump-dom", probed.as_uri()], folder / "profile")
            found = re.search(r"data-timing=\"([^\"]+)\"", dom)
            assert found, "the probe did not run"
            timings.append(json.loads(found.group(1).replace("&quot;", '"')))
            walls.append(_chromium([f"--screenshot={folder / 'page.png'}", options.page.as_uri()], folder / "p2")[0])
            blanks.append(_chromium([f"--screenshot={folder / 'empty.png'}", empty.as_uri()], folder / "p3")[0])
    result = {
        "page_bytes": options.page.stat().st_size,
        "runs": options.runs,
        "median_ms": {k: statistics.median(t[k] for t in timings) for k in timings[0] if k != "images"},
        "max_load_ms": max(t["load"] for t in timings),
        "images": timings[0]["images"],
        "screenshot_wall_s": {"page_median": statistics.median(walls), "empty_page_median": statistics.median(blanks)},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
