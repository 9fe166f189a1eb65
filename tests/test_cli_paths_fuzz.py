"""Hypothesis fuzz of the CLI's path options: any mix of SRC, DST, quarantine, report and
checkpoint locations (inside SRC, outside, equal, through links, nonexistent, files
where folders go) never writes inside SRC and never ends in a traceback: either the
run happens (exit 1: the junk image is quarantined) or one line says why not (exit 2).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from redactor.cli import app

from .test_hostile_inputs import tree_digest

#: Where a path option may point, relative to the example's root folder.
PLACES = (
    "src",
    "src/sub",
    "src/a.jpg",
    "src/new",
    "src/sub/new/deep",
    "src/../src/x",
    "ext",
    "ext/file.txt",
    "ext/new",
    "new/nested/x",
    "link_in",
    "link_in/x",
    "link_out/x",
    "dangling",
    ".",
    "out",
    "out/r.jsonl",
)


def layout(root: Path) -> Path:
    src = root / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.jpg").write_bytes(b"not an image")
    (src / "notes.txt").write_text("hello")
    (src / "sub" / "b.png").write_bytes(b"")
    (root / "ext").mkdir()
    (root / "ext" / "file.txt").write_text("x")
    os.symlink(src / "sub", root / "link_in")
    os.symlink(root / "ext", root / "link_out")
    os.symlink(src / "gone", root / "dangling")
    return src


optional_place = st.none() | st.sampled_from(PLACES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dst=st.sampled_from(PLACES),
    quarantine=optional_place | st.just("none"),
    report=optional_place,
    checkpoint=optional_place,
    dry_run=st.booleans(),
)
def test_path_options_never_write_into_src_nor_crash(dst, quarantine, report, checkpoint, dry_run):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = layout(root)
        before = tree_digest(src)
        args = ["run", "src", dst, "-e", "replay", "--verify", "off"]
        for option, value in (("--quarantine", quarantine), ("--report", report), ("--checkpoint", checkpoint)):
            if value is not None:
                args += [option, value]
        if dry_run:
            args.append("--dry-run")
        cwd = os.getcwd()
        os.chdir(root)
        try:
            result = CliRunner().invoke(app, args)
        finally:
            os.chdir(cwd)
        out = result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "Traceback" not in out, (args, out)
        assert tree_digest(src) == before, ("SRC changed", args)
        assert result.exit_code in (1, 2), (args, out)
        if result.exit_code == 2:
            lines = [line for line in out.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("redactor: "), (args, out)
