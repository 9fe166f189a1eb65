"""``redactor inspect``: what a locator found on one image and what the policy does with it."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from redactor.core.fields import CardTypeHint
from redactor.core.imaging import DEFAULT_MAX_BYTES, decode
from redactor.core.plan import plan_redaction
from redactor.core.policy import Policy
from redactor.errors import RedactorError, UsageError
from redactor.locators.base import LocateRequest, Locator
from redactor.pipeline import locate_fields
from redactor.storage.files import companion_reader, read_regular_file

ACTION_COLOURS = {"box": (220, 0, 0), "blur": (0, 90, 220), "pixelate": (160, 0, 200), "keep": (0, 160, 0)}


def inspect_image(
    path: Path,
    policy: Policy,
    locator: Locator,
    hint: CardTypeHint,
    *,
    draw: Path | None = None,
    as_json: bool = False,
    show_text: bool = False,
) -> str:
    if draw is not None:
        if draw.resolve() == path.resolve():
            raise UsageError(f"--draw {draw} is the image itself: it would be overwritten")
        if draw.is_dir():
            raise UsageError(f"--draw {draw} is a folder: give a file name")
    try:
        data = read_regular_file(path, DEFAULT_MAX_BYTES, follow_links=True)
    except RedactorError as exc:
        raise UsageError(f"{path}: {exc}") from None
    try:
        decoded = decode(data)
        companion = companion_reader(path, DEFAULT_MAX_BYTES)
        detection = locate_fields(locator, LocateRequest(decoded.image, hint, path.name, companion), policy)
    except RedactorError as exc:
        raise UsageError(f"{path.name}: {exc}") from None
    plan = plan_redaction(detection, policy, decoded.image.width, decoded.image.height, hint)
    rows = []
    for applied in plan.applied:
        rec = applied.to_record()
        if show_text:
            rec["detected_text"] = applied.located.detected_text
        rows.append(rec)
    if draw is not None:
        _draw(decoded.image, plan, draw)
    if as_json:
        return json.dumps(
            {
                "image": path.name,
                "decision": plan.decision.value,
                "card_type": plan.card_type.value if plan.card_type else None,
                "reasons": list(plan.reasons),
                "fields": rows,
            },
            ensure_ascii=False,
            indent=1,
        )
    lines = [
        f"{path.name}: {decoded.image.width}x{decoded.image.height}, card type "
        f"{plan.card_type.value if plan.card_type else 'unknown'}, decision {plan.decision.value}"
    ]
    lines += [f"  reason: {r}" for r in plan.reasons]
    lines.append(f"  {'field':<18} {'raw name':<36} {'score':>5}  {'action':<9} rule")
    for rec in rows:
        name = str(rec["raw_name"])[:36]
        line = f"  {rec['field']!s:<18} {name:<36} {rec['score']:>5g}  {rec['action']:<9} {rec['rule']}"
        if show_text:
            line += f"  text={rec.get('detected_text')!r}"
        lines.append(line)
    if draw is not None:
        lines.append(f"  drawing written to {draw}")
    return "\n".join(lines)


def _draw(image: Image.Image, plan: object, out: Path) -> None:
    canvas = image.convert("RGB")
    pen = ImageDraw.Draw(canvas)
    width = max(2, canvas.width // 400)
    for applied in getattr(plan, "applied", ()):
        colour = ACTION_COLOURS.get(applied.action, (255, 128, 0))
        points = [tuple(p) for p in applied.located.polygon.points]
        pen.line(points + [points[0]], fill=colour, width=width)
        x0, y0 = min(p[0] for p in points), min(p[1] for p in points)
        label = f"{applied.located.canonical or '?'} {applied.located.score:g} {applied.action}"
        pen.text((x0, max(0, y0 - 12)), label, fill=colour)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        canvas.save(out, format="PNG")
    except OSError as exc:
        raise UsageError(f"cannot write the drawing {out}: {exc.strerror or type(exc).__name__}") from None
