"""The bad-input corpus, generated at test time (no committed binaries): one ``Kind`` per
hostile input a new user may feed redactor, across images, names, special files,
sidecars, policies and CLI combinations.

Every case is built in a fresh folder holding ``src/`` (one good synthetic specimen
with its replay sidecar, plus the hostile entry) and ``outside/`` (a canary file that
must never be copied anywhere). ``tests/test_hostile_inputs.py`` runs each one.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import SAMPLES

#: The good specimen every case's SRC holds (a synthetic card, with its sidecar).
GOOD = "idcard-front-scan-0001.png"
#: The specimen photo the junk-ICC case re-saves.
ICC_SAMPLE = "idcard-front-photo-0004.jpg"
#: Bytes of the file outside SRC: found anywhere but outside/, a link was followed.
CANARY = b"CANARY-OUTSIDE-SRC-7f3a"


@dataclass(frozen=True)
class Kind:
    """One hostile input: how to build it, how to run redactor on it, what must happen."""

    name: str
    group: str
    build: Callable[[Path], None]
    #: The report entry to check (None: a usage error, no run, no report).
    entry: str | None
    decision: str | None
    exit_code: int
    #: Extra CLI arguments; ``{root}`` is the case's folder.
    args: tuple[str, ...] = ()
    #: Expected in the entry's first reason, or (usage errors) in the one-line error.
    says: str = ""
    #: DST argument (default ``{root}/out``).
    dst: str = "{root}/out"
    #: Run from this folder below the case's root (default: the root).
    cwd: str = ""
    extra_checks: tuple[Callable[[Path, dict[str, dict]], None], ...] = field(default=())


# --------------------------------------------------------------------------- bytes


def noise(width: int = 64, height: int = 40, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_bomb() -> bytes:
    """A PNG whose header claims 100000 x 100000 pixels (a few hundred bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = (100_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def arithmetic_jpeg() -> bytes:
    """A JPEG whose frame header says arithmetic coding (SOF9), its scan cut short."""
    data = bytearray(encoded(noise(64, 64), "JPEG"))
    at = data.find(b"\xff\xc0")
    data[at + 1] = 0xC9
    return bytes(data[: len(data) * 2 // 3])


def animated_gif() -> bytes:
    frames = [noise(seed=i).convert("P") for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def multipage_tiff() -> bytes:
    out = io.BytesIO()
    noise(seed=1).save(out, "TIFF", save_all=True, append_images=[noise(seed=2)])
    return out.getvalue()


def with_junk_icc(src: Path) -> None:
    """A specimen photo re-saved as JPEG with a 5 MB ICC profile of junk (its sidecar
    still holds: same card, same places)."""
    with Image.open(SAMPLES / ICC_SAMPLE) as im:
        data = encoded(im, "JPEG", quality=90, icc_profile=os.urandom(5 * 1024 * 1024))
    (src / "icc.jpg").write_bytes(data)
    shutil.copyfile(SAMPLES / f"{ICC_SAMPLE}.ailicenserec.xml", src / "icc.jpg.ailicenserec.xml")


# --------------------------------------------------------------------------- builders


def put(name: str | bytes, data: bytes) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        path = os.path.join(os.fsencode(src), os.fsencode(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)

    return build


def link(name: str, target: Callable[[Path], str]) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        os.symlink(target(src), src / name)

    return build


def outside_file(src: Path) -> str:
    return str(src.parent / "outside" / "secret.jpg")


def fifo(name: str) -> Callable[[Path], None]:
    return lambda src: os.mkfifo(src / name)


def unix_socket(name: str) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(src / name))
        sock.close()

    return build


def sparse(name: str, size: int) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        with open(src / name, "wb") as handle:
            handle.truncate(size)

    return build


def sidecar_for(name: str, xml: bytes) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        (src / name).write_bytes(encoded(noise(), "PNG"))
        (src / f"{name}.ailicenserec.xml").write_bytes(xml)

    return build


def both(*builders: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        for b in builders:
            b(src)

    return build


def policy(text: str, name: str = "p.yaml") -> Callable[[Path], None]:
    def build(src: Path) -> None:
        (src.parent / name).write_text(text, encoding="utf-8")

    return build


def nothing(src: Path) -> None:
    pass


def in_root(make: Callable[[Path], None]) -> Callable[[Path], None]:
    """Build something in the case's root (beside SRC), not in SRC."""
    return lambda src: make(src.parent)


LONG = "x" * 246 + ".jpg"  # 250 characters: its .reason.json would not fit in 255 bytes
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Response><Status>1</Status><IdInfo><Name>&x;</Name></IdInfo></Response>"""
KEEP_ALL = "version: 1\ndefaults: {action: keep, uncertain: box}\nportrait: keep\n"


def _reason_file_exists(root: Path, records: dict[str, dict]) -> None:
    quarantined = [p.name for p in (root / "out.quarantine").iterdir()]
    assert LONG in quarantined and any(n.endswith(".reason.json") and n.startswith("x" * 80) for n in quarantined)


def _icc_dropped(root: Path, records: dict[str, dict]) -> None:
    assert records["icc.jpg"]["decision"] == "redacted"
    with Image.open(root / "out" / "icc.jpg") as im:
        assert "icc_profile" not in im.info


def _dst_not_created(root: Path, records: dict[str, dict]) -> None:
    assert not (root / "out").exists() and not (root / "out.quarantine").exists()


def _quarantine_beside_dst(root: Path, records: dict[str, dict]) -> None:
    assert (root / "out.quarantine").is_dir() and not (root / "out" / ".quarantine").exists()


Q, R, S, F = "quarantined", "refused", "skipped", "failed"

KINDS: tuple[Kind, ...] = (
    # images
    Kind("empty file", "image", put("empty.jpg", b""), "empty.jpg", Q, 1, says="empty"),
    Kind("random bytes", "image", put("garbage.jpg", os.urandom(4096)), "garbage.jpg", Q, 1, says="unreadable"),
    Kind("truncated PNG", "image", put("cut.png", encoded(noise(), "PNG")[:300]), "cut.png", Q, 1, says="unreadable"),
    Kind("truncated JPEG", "image", put("cut.jpg", encoded(noise(), "JPEG")[:400]), "cut.jpg", Q, 1),
    Kind(
        "PNG named .jpg, no sidecar", "image", put("png.jpg", encoded(noise(), "PNG")), "png.jpg", Q, 1, says="locator"
    ),
    Kind("decompression bomb", "image", put("bomb.png", png_bomb()), "bomb.png", Q, 1, says="pixels"),
    Kind("animated GIF", "image", put("anim.gif", animated_gif()), "anim.gif", Q, 1, says="multi-frame"),
    Kind("multi-page TIFF", "image", put("pages.tif", multipage_tiff()), "pages.tif", Q, 1, says="multi-frame"),
    Kind("1x1 image", "image", put("dot.png", encoded(noise(1, 1), "PNG")), "dot.png", Q, 1),
    Kind("arithmetic JPEG", "image", put("arith.jpg", arithmetic_jpeg()), "arith.jpg", Q, 1, says="arithmetic"),
    Kind("file over the size limit", "image", sparse("huge.jpg", 101 * 1024 * 1024), "huge.jpg", R, 1, says="limit"),
    Kind("junk ICC profile", "image", with_junk_icc, "icc.jpg", "redacted", 0, extra_checks=(_icc_dropped,)),
    Kind("text file", "image", put("notes.txt", b"hello"), "notes.txt", S, 0, says="not an image"),
    Kind("unknown extension", "image", put("photo.heic", b"\0" * 64), "photo.heic", S, 0),
    Kind("upper-case extension", "image", put("CARD.JPG", b"junk"), "CARD.JPG", Q, 1),
    # names
    Kind("name not UTF-8", "name", put(b"\xff\xfe.png", b"junk"), "\\xff\\xfe.png", R, 1, says="UTF-8"),
    Kind("folder name not UTF-8", "name", put(b"d\xff/a.png", b"junk"), "d\\xff/a.png", R, 1, says="UTF-8"),
    Kind("newline in name", "name", put("a\nb.jpg", b"junk"), "a\nb.jpg", Q, 1),
    Kind("backslash in name", "name", put("a\\b.jpg", b"junk"), "a\\b.jpg", R, 1, says="backslash"),
    Kind("250-character name", "name", put(LONG, b"junk"), LONG, Q, 1, extra_checks=(_reason_file_exists,)),
    Kind("leading dash", "name", put("-rf.jpg", b"junk"), "-rf.jpg", Q, 1),
    Kind("CJK name", "name", put("身份证 正面.jpg", b"junk"), "身份证 正面.jpg", Q, 1),
    Kind("quotes and spaces", "name", put('it\'s "a" card.png', b"junk"), 'it\'s "a" card.png', Q, 1),
    Kind(
        "deep nesting", "name", put("/".join("d" * 20) + "/deep.jpg", b"junk"), "/".join("d" * 20) + "/deep.jpg", Q, 1
    ),
    Kind("hidden file", "name", put(".hidden.jpg", b"junk"), ".hidden.jpg", Q, 1),
    # special files
    Kind("link to a file outside", "special", link("p.jpg", outside_file), "p.jpg", R, 1, says="symbolic link"),
    Kind("link to a folder outside", "special", link("up", lambda s: str(s.parent / "outside")), "up", R, 1),
    Kind("link to /etc/passwd", "special", link("passwd.jpg", lambda s: "/etc/passwd"), "passwd.jpg", R, 1),
    Kind("broken link", "special", link("gone.png", lambda s: "/nonexistent/x.png"), "gone.png", R, 1, says="broken"),
    Kind("link to a device", "special", link("zero.jpg", lambda s: "/dev/zero"), "zero.jpg", R, 1, says="device"),
    Kind("link inside SRC", "special", link("again.png", lambda s: str(s / GOOD)), "again.png", R, 1),
    Kind("relative link escaping", "special", link("rel.jpg", lambda s: "../outside/secret.jpg"), "rel.jpg", R, 1),
    Kind("FIFO", "special", fifo("pipe.jpg"), "pipe.jpg", R, 1, says="FIFO"),
    Kind("socket", "special", unix_socket("sock.png"), "sock.png", R, 1, says="socket"),
    Kind("file in SRC/.redactor/", "special", put(".redactor/manifest.jsonl", b"{}"), ".redactor/manifest.jsonl", S, 0),
    # sidecars
    Kind("malformed sidecar", "sidecar", sidecar_for("m.png", b"<Response><IdInfo>"), "m.png", Q, 1, says="locator"),
    Kind("XXE sidecar", "sidecar", sidecar_for("x.png", XXE), "x.png", Q, 1, says="locator"),
    Kind(
        "sidecar is a link outside",
        "sidecar",
        both(put("s.png", encoded(noise(), "PNG")), link("s.png.ailicenserec.xml", outside_file)),
        "s.png",
        F,
        1,
        says="symbolic link",
    ),
    Kind("orphan sidecar", "sidecar", put("o.png.ailicenserec.xml", b"<Response/>"), "o.png.ailicenserec.xml", S, 0),
    Kind("truth file", "sidecar", put("t.png.truth.json", b"{}"), "t.png.truth.json", S, 0, says="companion"),
    Kind("reason file", "sidecar", put("r.png.reason.json", b"{}"), "r.png.reason.json", S, 0, says="companion"),
    # policies
    Kind(
        "policy is a FIFO",
        "policy",
        in_root(lambda r: os.mkfifo(r / "fifo.yaml")),
        None,
        None,
        2,
        ("--policy", "{root}/fifo.yaml"),
        says="FIFO",
    ),
    Kind(
        "policy is a folder",
        "policy",
        in_root(lambda r: (r / "pol.yaml").mkdir()),
        None,
        None,
        2,
        ("--policy", "{root}/pol.yaml"),
        says="folder",
    ),
    Kind(
        "policy with a typo",
        "policy",
        policy("version: 1\nfields:\n  nmae: box\n"),
        None,
        None,
        2,
        ("--policy", "{root}/p.yaml"),
        says="p.yaml:3",
    ),
    Kind(
        "pixelate strength 1e9",
        "policy",
        policy("version: 1\ndefaults: {action: pixelate, strength: 1e9}\n"),
        None,
        None,
        2,
        ("--policy", "{root}/p.yaml"),
        says="at most",
    ),
    Kind("empty policy", "policy", policy(""), None, None, 2, ("--policy", "{root}/p.yaml")),
    Kind(
        "bundled name beside a folder of that name",
        "policy",
        in_root(lambda r: (r / "strict").mkdir()),
        GOOD,
        "redacted",
        0,
        ("--policy", "strict"),
    ),
    Kind(
        "file named like a bundled policy",
        "policy",
        policy("garbage: [", "default"),
        GOOD,
        "redacted",
        0,
        ("--policy", "default"),
    ),
    Kind("missing bundled policy", "policy", nothing, None, None, 2, ("--policy", "nope"), says="bundled"),
    Kind(
        "keep-everything policy",
        "policy",
        policy(KEEP_ALL),
        GOOD,
        "redacted",
        0,
        ("--policy", "{root}/p.yaml"),
        says="warning",
    ),
    # CLI combinations
    Kind(
        "--report on a source image",
        "cli",
        nothing,
        None,
        None,
        2,
        ("--report", "{root}/src/" + GOOD),
        says="inside the source",
    ),
    Kind(
        "--checkpoint on a source image",
        "cli",
        nothing,
        None,
        None,
        2,
        ("--checkpoint", "{root}/src/" + GOOD),
        says="inside the source",
    ),
    Kind("--report is a folder", "cli", nothing, None, None, 2, ("--report", "{root}"), says="folder"),
    Kind("--checkpoint is a folder", "cli", nothing, None, None, 2, ("--checkpoint", "{root}"), says="folder"),
    Kind("--report unwritable", "cli", nothing, None, None, 2, ("--report", "/proc/nope/r.jsonl"), says="report"),
    Kind(
        "--report same as --checkpoint",
        "cli",
        nothing,
        None,
        None,
        2,
        ("--report", "{root}/x.jsonl", "--checkpoint", "{root}/x.jsonl"),
        says="same file",
    ),
    Kind(
        "--report through a link into SRC",
        "cli",
        in_root(lambda r: os.symlink(r / "src", r / "into")),
        None,
        None,
        2,
        ("--report", "{root}/into/r.jsonl"),
        says="inside the source",
    ),
    Kind(
        "DST an existing file",
        "cli",
        in_root(lambda r: (r / "file").write_bytes(b"x")),
        None,
        None,
        2,
        dst="{root}/file",
        says="not a folder",
    ),
    Kind("DST inside SRC", "cli", nothing, None, None, 2, dst="{root}/src/out", says="inside the source"),
    Kind(
        "DST a link into SRC",
        "cli",
        in_root(lambda r: os.symlink(r / "src" / "o", r / "o")),
        None,
        None,
        2,
        dst="{root}/o",
        says="inside the source",
    ),
    Kind("DST unwritable", "cli", nothing, None, None, 2, dst="/proc/nope/out", says="cannot create"),
    Kind("quarantine inside SRC", "cli", nothing, None, None, 2, ("--quarantine", "{root}/src/q"), says="overlaps"),
    Kind(
        "DST is '.' from inside it",
        "cli",
        in_root(lambda r: (r / "out").mkdir()),
        GOOD,
        "redacted",
        0,
        dst=".",
        cwd="out",
        extra_checks=(_quarantine_beside_dst,),
    ),
    Kind(
        "dry run",
        "cli",
        nothing,
        GOOD,
        "redacted",
        0,
        ("--dry-run",),
        says="would be redacted",
        extra_checks=(_dst_not_created,),
    ),
)


def build_case(root: Path, kind: Kind) -> Path:
    """A fresh ``root/src`` (good specimen + the hostile entry) and ``root/outside``."""
    src = root / "src"
    src.mkdir(parents=True)
    for name in (GOOD, f"{GOOD}.ailicenserec.xml"):
        shutil.copyfile(SAMPLES / name, src / name)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(CANARY)
    kind.build(src)
    return src
