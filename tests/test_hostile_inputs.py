"""The bad-input corpus (``tests/hostile_corpus.py``) through the CLI, one test per kind.

Each asserts the exit code, the hostile entry's report line, that SRC is unchanged
(a digest of the tree, links and special files included, taken without following or
opening them), that nothing from outside SRC was copied anywhere, that every entry
below SRC is in the report exactly once, that DST holds only redacted outputs, and
that no run takes 10 s or shows a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from redactor.api import Redactor
from redactor.cli import app
from redactor.errors import RedactorError, UsageError

from .hostile_corpus import CANARY, GOOD, KINDS, Kind, build_case

#: Seconds any one case may take before it counts as a hang.
LIMIT_S = 10


def tree_digest(root: Path) -> str:
    """Every entry below ``root``: name, type, and content (regular files) or target
    (links); FIFOs, devices and sockets are stat'ed, never opened."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root), followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            info = os.lstat(full)
            h.update(full + b"\0" + str(stat.S_IFMT(info.st_mode)).encode())
            if stat.S_ISLNK(info.st_mode):
                h.update(os.readlink(full))
            elif stat.S_ISREG(info.st_mode):
                h.update(str(info.st_size).encode() + str(info.st_mtime_ns).encode())
                if info.st_size < 50_000_000:
                    with open(full, "rb") as f:
                        h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def entries(root: Path) -> list[str]:
    """Every non-folder entry below ``root`` (links to folders included), as the report
    should name it: ``/``-joined, bytes that are not UTF-8 as ``\\xNN``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root), followlinks=False):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in filenames + links:
            rel = os.path.relpath(os.path.join(dirpath, name), os.fsencode(root))
            found.append(rel.decode("utf-8", "backslashreplace"))
    return sorted(found)


def files_holding(root: Path, needle: bytes, skip: set[Path]) -> list[str]:
    hits = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
        for name in filenames:
            full = Path(dirpath, name)
            regular = full.is_file() and not full.is_symlink() and full.stat().st_size < 50_000_000
            if regular and needle in full.read_bytes():
                hits.append(str(full))
    return hits


def invoke(args: list[str]):
    def hang(*_):
        raise TimeoutError("redactor hung")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(LIMIT_S)
    try:
        return CliRunner().invoke(app, args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_case(root: Path, kind: Kind, monkeypatch):
    src = build_case(root, kind)
    before = tree_digest(src)
    fill = lambda a: a.replace("{root}", str(root))  # noqa: E731
    args = ["run", str(src), fill(kind.dst), "-e", "replay", "--verify", "off", *map(fill, kind.args)]
    if "--report" not in kind.args:
        args += ["--report", str(root / "report.jsonl")]
    monkeypatch.chdir(root / kind.cwd)
    start = time.monotonic()
    result = invoke(args)
    took = time.monotonic() - start
    return src, before, result, took


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_hostile_input(kind: Kind, tmp_path, monkeypatch):
    root = tmp_path / "case"
    root.mkdir()
    src, before, result, took = run_case(root, kind, monkeypatch)
    out = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out and took < LIMIT_S
    assert result.exit_code == kind.exit_code, out
    assert tree_digest(src) == before, "SRC changed"
    assert not files_holding(root, CANARY, {root / "outside"}), "a file from outside SRC was copied"
    if kind.entry is None:
        lines = [line for line in out.splitlines() if line.strip()]
        assert lines[0].startswith("redactor: ") and kind.says in out, out
        assert not (root / "report.jsonl").exists() or not (root / "report.jsonl").read_text().strip()
        return
    report = Path(root / "report.jsonl").read_text("utf-8").splitlines()
    records = [json.loads(line) for line in report]
    listed = [r["source"] for r in records if "source" in r]
    assert sorted(listed) == entries(src), "every entry below SRC once"
    by_source = {r["source"]: r for r in records if "source" in r}
    record = by_source[kind.entry]
    assert record["decision"] == kind.decision, record
    assert kind.says in " ".join(record["reasons"][:1]) or kind.says in out, (record, out)
    summary = records[-1]["summary"]
    assert (
        summary["total"]
        == len(listed)
        == sum(summary[k] for k in ("redacted", "quarantined", "failed", "refused", "skipped_unchanged", "ignored"))
    )
    assert "CANARY" not in "\n".join(report) + out  # no DetectedText-like canary of ours leaks
    check_destination(root, src, by_source, dry_run="--dry-run" in kind.args)
    for check in kind.extra_checks:
        check(root, by_source)


def check_destination(root: Path, src: Path, records: dict[str, dict], dry_run: bool) -> None:
    """DST holds redacted outputs only, each masked where its report says it was."""
    dst = root / "out"
    if not dst.exists():
        return
    written = sorted(
        str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file() and ".redactor" not in p.relative_to(dst).parts
    )
    redacted = sorted(k for k, r in records.items() if r["decision"] == "redacted" and not dry_run)
    assert written == redacted
    for key in written:
        assert records[key]["output_sha256"] == hashlib.sha256((dst / key).read_bytes()).hexdigest()
        if any(f["action"] != "keep" for f in records[key]["fields"]):
            with Image.open(src / key) as a, Image.open(dst / key) as b:
                assert not np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


def test_the_corpus_is_broad():
    groups = {k.group for k in KINDS}
    assert len(KINDS) >= 40 and groups == {"image", "name", "special", "sidecar", "policy", "cli"}
    assert len({k.name for k in KINDS}) == len(KINDS)


def test_rerun_with_refused_entries_does_not_crash_and_accounts_once(tmp_path, monkeypatch):
    root = tmp_path / "case"
    root.mkdir()
    kind = next(k for k in KINDS if k.name == "name not UTF-8")
    src, before, first, _ = run_case(root, kind, monkeypatch)
    again = invoke(["run", str(src), str(root / "out"), "-e", "replay", "--verify", "off"])
    assert first.exit_code == again.exit_code == 1
    assert "1 unchanged" in again.output and "1 refused" in again.output
    assert tree_digest(src) == before


# --------------------------------------------------------------------------- the library


def test_library_refuses_a_fifo_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "fifo.jpg")
    os.mkfifo(tmp_path / "fifo.yaml")
    redactor = Redactor(engine="replay", verify=False)
    start = time.monotonic()
    with pytest.raises(UsageError, match="FIFO"):
        redactor.redact(tmp_path / "fifo.jpg")
    with pytest.raises(RedactorError, match="FIFO"):
        Redactor(policy=str(tmp_path / "fifo.yaml"), engine="replay", verify=False)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("mode", ["F", "HSV", "LAB", "I;16B"])
def test_library_errors_for_odd_pil_modes_are_its_own(mode):
    with pytest.raises(RedactorError, match=mode):
        Redactor(engine="replay", verify=False).redact(Image.new(mode, (9, 9)))


def test_library_handles_rgba_tagged_jpeg_and_lazy_truncated_images(tmp_path):
    redactor = Redactor(engine="replay", verify=False)
    rgba = Image.new("RGBA", (9, 9))
    rgba.format = "JPEG"
    assert redactor.redact(rgba).decision.value == "quarantined"  # read as PNG; no sidecar: in doubt
    rng = np.random.default_rng(0)
    path = tmp_path / "cut.jpg"
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(path, "JPEG")
    path.write_bytes(path.read_bytes()[:3000])
    with Image.open(path) as lazy, pytest.raises(RedactorError, match="cannot be read"):
        redactor.redact(lazy)


def test_library_policy_names_and_paths_have_one_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "version1.yaml").write_text("version: 1\nportrait: box\n")
    assert Redactor(policy="version1.yaml", engine="replay", verify=False).policy.source.endswith("version1.yaml")
    (tmp_path / "strict").mkdir()
    assert "strict" in Redactor(policy="strict", engine="replay", verify=False).policy.source


def test_printing_a_result_prints_no_image(tmp_path):
    from .hostile_corpus import SAMPLES

    result = Redactor(engine="replay", verify=False).redact(SAMPLES / GOOD)
    assert result.redacted and result.data and "data=" not in repr(result) and "PNG\\r" not in repr(result)


def test_outputs_follow_the_umask(tmp_path, monkeypatch):
    root = tmp_path / "case"
    root.mkdir()
    kind = next(k for k in KINDS if k.name == "empty file")
    run_case(root, kind, monkeypatch)
    mode = stat.S_IMODE((root / "out" / GOOD).stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_summary_names_what_is_in_doubt(tmp_path, monkeypatch):
    root = tmp_path / "case"
    root.mkdir()
    kind = next(k for k in KINDS if k.name == "link to a file outside")
    _, _, result, _ = run_case(root, kind, monkeypatch)
    assert "  p.jpg: a symbolic link" in result.output
