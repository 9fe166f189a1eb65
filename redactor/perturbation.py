"""``redactor eval --perturb``: how often the second look catches a wrong location.

Each generated image is masked from its ground truth (a correct location, as a perfect
locator would give) and then from faulty versions of it, the faults a real locator or a
saved response makes: every polygon shifted by 20-60% of a line's height, one field's
polygon shifted, one sensitive field dropped from the masks, the response of another
image of the same card type (scaled to this image's size, as a response for another crop
would be), the portrait zone moved by 30-100% of its width. Every output goes through the
verifier, exactly as the pipeline would, and the truth says whether the fault left a
sensitive value readable (a character's stretch of one of its lines at least 40% unmasked)
or the face (less than :data:`READABLE` of the face's zone in the photo masked).

The figures: the share of faulty outputs that leak and were caught, and the share of
correct outputs falsely quarantined. Names and field ids only, never text.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from redactor.core.fields import PORTRAIT
from redactor.core.geometry import text_height
from redactor.core.imaging import decode
from redactor.core.plan import Plan, plan_redaction
from redactor.core.policy import Action, Policy
from redactor.core.results import Decision, Detection, LocatedField, Polygon
from redactor.core.verification import visible_parts
from redactor.evaluation import (
    Truth,
    find_images,
    load_truth,
    mask_union,
    masked_fraction,
    rasterize,
    read_truth,
    verify_plan,
)
from redactor.generator.families import HELD_OUT_FAMILIES
from redactor.verifiers.base import Verifier

#: The face is recognisable with less than this share of its zone masked...
READABLE = 0.85
#: ... the zone: (left, top), (right, bottom) as fractions of the photo's width and height.
FACE_ZONE = ((0.2, 0.12), (0.8, 0.6))
#: A value is readable where a stretch of one of its lines this many text heights long (about
#: a character) ...
CHARACTER = 0.7
#: ... shows at least this share of the line's height unmasked.
VISIBLE_HEIGHT = 0.4
FAULTS = ("shift-all", "shift-one", "drop-one", "swap", "portrait-moved")
CORRECT = "correct"


@dataclass(frozen=True)
class Trial:
    """One masked output and what the second look said about it."""

    image: str
    variant: str
    held_out: bool
    fault: str
    #: some sensitive value or the face is readable in the output
    leaks: bool
    #: the plan itself refused it (a fault the plan's own checks catch)
    refused_by_plan: bool
    #: the verifier failed it
    caught: bool
    verify_ms: float | None


@dataclass
class Tally:
    trials: int = 0
    leaking: int = 0
    leaking_caught: int = 0
    refused_by_plan: int = 0
    fine: int = 0
    fine_caught: int = 0

    def add(self, t: Trial) -> None:
        self.trials += 1
        if t.refused_by_plan:
            self.refused_by_plan += 1
        elif t.leaks:
            self.leaking += 1
            self.leaking_caught += t.caught
        else:
            self.fine += 1
            self.fine_caught += t.caught

    def to_record(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "refused_by_plan": self.refused_by_plan,
            "leaking": self.leaking,
            "leaking_caught_pct": _pct(self.leaking_caught, self.leaking),
            "fine": self.fine,
            "fine_quarantined_pct": _pct(self.fine_caught, self.fine),
        }


@dataclass
class Study:
    trials: list[Trial] = field(default_factory=list)

    def table(self) -> dict[str, Tally]:
        """Per fault (correct outputs first), then per variant for the correct outputs."""
        rows: dict[str, Tally] = {}
        for t in self.trials:
            rows.setdefault(t.fault, Tally()).add(t)
            if t.fault == CORRECT:
                rows.setdefault(f"{CORRECT}/{t.variant}", Tally()).add(t)
                if t.held_out:
                    rows.setdefault(f"{CORRECT}/held-out", Tally()).add(t)
            else:
                rows.setdefault("all faults", Tally()).add(t)
                if t.held_out:
                    rows.setdefault("faults/held-out", Tally()).add(t)
        order = [CORRECT, *sorted(k for k in rows if k.startswith(f"{CORRECT}/")), *FAULTS, "all faults"]
        order += [k for k in rows if k not in order]
        return {k: rows[k] for k in order if k in rows}

    def to_record(self) -> dict[str, Any]:
        times = [t.verify_ms for t in self.trials if t.verify_ms is not None]
        return {
            "face_readable_below_masked_fraction": READABLE,
            "value_readable": {"stretch_text_heights": CHARACTER, "visible_height": VISIBLE_HEIGHT},
            "rows": {k: v.to_record() for k, v in self.table().items()},
            "verify_ms_median": None if not times else round(statistics.median(times), 1),
            "missed": [
                {"image": t.image, "fault": t.fault}
                for t in self.trials
                if t.fault != CORRECT and t.leaks and not t.caught and not t.refused_by_plan
            ],
            "false_alarms": [t.image for t in self.trials if t.fault == CORRECT and t.caught],
        }


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


# --------------------------------------------------------------------------- faults


def truth_detection(truth: Truth, raw: dict[str, Any]) -> Detection:
    """The location a perfect locator would give: every truth field (each printed line of a
    wrapped value on its own) and the photo, tagged with its card's type."""
    listed = raw.get("cards")
    raw_cards: list[dict[str, Any]] = listed if isinstance(listed, list) else [raw]
    fields: list[LocatedField] = []
    for card, raw_card in zip(truth.cards, raw_cards, strict=False):
        if not card.redactable:
            continue
        lines = {str(f["field"]): f.get("lines") for f in raw_card.get("fields") or ()}
        for gt in card.fields:
            polygons = [gt.polygon] if gt.field == PORTRAIT or not lines.get(gt.field) else lines[gt.field]
            for points in polygons:
                fields.append(LocatedField(gt.field, 99.0, Polygon.of(points), card.card_type, gt.field))
    return Detection(1 if fields else 0, tuple(fields))


def _moved(located: LocatedField, dx: float, dy: float) -> LocatedField:
    return replace(located, polygon=Polygon(tuple((x + dx, y + dy) for x, y in located.polygon.points)))


def _direction(rng: random.Random) -> tuple[float, float]:
    angle = rng.uniform(0.0, 2 * math.pi)
    return math.cos(angle), math.sin(angle)


def shift_all(detection: Detection, rng: random.Random) -> Detection:
    text = [f for f in detection.fields if not f.is_portrait]
    h = statistics.median(text_height(f.polygon) for f in text) if text else 0.0
    ux, uy = _direction(rng)
    d = rng.uniform(0.2, 0.6) * h
    return replace(detection, fields=tuple(_moved(f, ux * d, uy * d) for f in detection.fields))


def shift_one(detection: Detection, rng: random.Random, sensitive: Callable[[LocatedField], bool]) -> Detection:
    choices = [i for i, f in enumerate(detection.fields) if not f.is_portrait and sensitive(f)]
    if not choices:
        return detection
    i = rng.choice(choices)
    target = detection.fields[i]
    ux, uy = _direction(rng)
    d = rng.uniform(0.2, 0.6) * text_height(target.polygon)
    fields = list(detection.fields)
    fields[i] = _moved(target, ux * d, uy * d)
    return replace(detection, fields=tuple(fields))


def move_portrait(detection: Detection, rng: random.Random) -> Detection:
    fields = []
    for f in detection.fields:
        if f.is_portrait:
            x0, _, x1, _ = f.polygon.bounds
            ux, uy = _direction(rng)
            d = rng.uniform(0.3, 1.0) * (x1 - x0)
            f = _moved(f, ux * d, uy * d)
        fields.append(f)
    return replace(detection, fields=tuple(fields))


def scaled(detection: Detection, sx: float, sy: float) -> Detection:
    def scale(f: LocatedField) -> LocatedField:
        return replace(f, polygon=Polygon(tuple((x * sx, y * sy) for x, y in f.polygon.points)))

    return replace(detection, fields=tuple(scale(f) for f in detection.fields))


def drop_one(plan: Plan, rng: random.Random, sensitive: Callable[[LocatedField], bool]) -> Plan:
    """The plan without the masks of one sensitive text field (as if the locator had named
    it something the policy keeps): the plan's own completeness check is bypassed."""
    names = sorted({a.located.canonical for a in plan.applied if a.located.canonical and sensitive(a.located)})
    names = [n for n in names if n != PORTRAIT]
    if not names:
        return plan
    victim = rng.choice(names)
    keep = [i for i, a in enumerate(plan.applied) if a.located.canonical != victim]
    masked = [a for a in plan.applied if a.action != Action.KEEP.value]
    # plan.ops are in the order of the masked applied fields
    ops = [op for op, a in zip(plan.ops, masked, strict=True) if a.located.canonical != victim]
    return replace(plan, ops=tuple(ops), applied=tuple(plan.applied[i] for i in keep))


# --------------------------------------------------------------------------- study


def _leaks(plan: Plan, truth: Truth, raw: dict[str, Any], policy: Policy) -> bool:
    """Some sensitive value (each of its printed lines) or the face is readable."""
    union = mask_union(plan.ops, truth.width, truth.height)
    listed = raw.get("cards")
    raw_cards: list[dict[str, Any]] = listed if isinstance(listed, list) else [raw]
    for card, raw_card in zip(truth.cards, raw_cards, strict=False):
        if not card.redactable:
            continue
        lines = {str(f["field"]): f.get("lines") for f in raw_card.get("fields") or ()}
        for gt in card.fields:
            if policy.rule_for(card.card_type, gt.field).action is Action.KEEP:
                continue
            if gt.field == PORTRAIT:
                face = face_zone(np.asarray(gt.polygon, dtype=np.float64))
                if masked_fraction(rasterize(face, truth.width, truth.height), union) < READABLE:
                    return True
                continue
            for points in lines.get(gt.field) or [gt.polygon]:
                if readable(np.asarray(points, dtype=np.float64), union):
                    return True
    return False


def face_zone(photo: np.ndarray) -> list[tuple[float, float]]:
    """Where the face is in a card photo (corners in reading order): the middle of its width,
    from below the top margin to the chin (:data:`FACE_ZONE`, as fractions of the photo)."""
    (u0, v0), (u1, v1) = FACE_ZONE
    tl, tr, br, bl = photo[:4]

    def at(u: float, v: float) -> tuple[float, float]:
        top = tl + (tr - tl) * u
        bottom = bl + (br - bl) * u
        x, y = top + (bottom - top) * v
        return float(x), float(y)

    return [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)]


def readable(quad: np.ndarray, union: np.ndarray) -> bool:
    """Whether a printed line (4 corners in reading order) shows a character: a stretch
    about a character long (:data:`CHARACTER`) with :data:`VISIBLE_HEIGHT` of its height
    or more unmasked."""
    frame = _reading_frame(quad)
    return bool(visible_parts(frame, union, masked_slice=1.0 - VISIBLE_HEIGHT, min_visible=CHARACTER))


def _reading_frame(quad: np.ndarray) -> np.ndarray:
    """Corners ordered start-top, end-top, end-bottom, start-bottom with the long side first."""
    q = quad[:4]
    if np.linalg.norm(q[1] - q[0]) >= np.linalg.norm(q[2] - q[1]):
        return q
    return np.asarray(q[[1, 2, 3, 0]])


def _trial(
    name: str,
    truth: Truth,
    raw: dict[str, Any],
    image: Image.Image,
    plan: Plan,
    detection: Detection,
    fault: str,
    verifier: Verifier,
    policy: Policy,
) -> Trial:
    variant = truth.variant if truth.kind != "photocopy" else "photocopy"
    held_out = any(c.family in HELD_OUT_FAMILIES for c in truth.cards)
    if plan.decision is not Decision.REDACTED:
        return Trial(name, variant, held_out, fault, _leaks(plan, truth, raw, policy), True, False, None)
    verdict, ms = verify_plan(verifier, image, plan, detection, policy)
    return Trial(name, variant, held_out, fault, _leaks(plan, truth, raw, policy), False, not verdict.passed, ms)


def run_perturbation(
    root: Path,
    policy: Policy,
    verifier: Verifier,
    *,
    limit: int | None = None,
    seed: int = 0,
    on_progress: Callable[[Trial], None] | None = None,
) -> Study:
    """Mask every card image below ``root`` from its truth and from each fault; verify each."""
    rng = random.Random(seed)  # noqa: S311 - reproducible faults, not secrets
    items: list[tuple[Path, Truth, dict[str, Any]]] = []
    for path in find_images(root, limit):
        raw = read_truth(path)
        truth = load_truth(raw)
        if truth.redactable:
            items.append((path, truth, raw))
    by_kind: dict[tuple[str, ...], list[int]] = {}
    for i, (_, truth, _) in enumerate(items):
        by_kind.setdefault(tuple(c.kind for c in truth.cards), []).append(i)
    study = Study()
    for i, (path, truth, raw) in enumerate(items):
        image = decode(path.read_bytes()).image
        if image.size != (truth.width, truth.height):
            continue
        name = path.relative_to(root).as_posix()
        size = (truth.width, truth.height)

        def sensitive(f: LocatedField) -> bool:
            return policy.rule_for(f.card_type, f.canonical).action is not Action.KEEP

        correct = truth_detection(truth, raw)
        cases: list[tuple[str, Detection, Plan | None]] = [(CORRECT, correct, None)]
        cases.append(("shift-all", shift_all(correct, rng), None))
        cases.append(("shift-one", shift_one(correct, rng, sensitive), None))
        base_plan = plan_redaction(correct, policy, *size)
        cases.append(("drop-one", correct, drop_one(base_plan, rng, sensitive)))
        partners = [j for j in by_kind.get(tuple(c.kind for c in truth.cards), []) if j != i]
        if partners:
            _, other, other_raw = items[rng.choice(partners)]
            swapped = scaled(truth_detection(other, other_raw), truth.width / other.width, truth.height / other.height)
            cases.append(("swap", swapped, None))
        if any(f.is_portrait for f in correct.fields):
            cases.append(("portrait-moved", move_portrait(correct, rng), None))
        for fault, detection, fixed in cases:
            plan = fixed if fixed is not None else plan_redaction(detection, policy, *size)
            trial = _trial(name, truth, raw, image, plan, detection, fault, verifier, policy)
            study.trials.append(trial)
            if on_progress is not None:
                on_progress(trial)
    return study


def format_study(study: Study) -> str:
    """The table the README quotes."""
    rows = study.table()
    header = ["outputs", "trials", "refused by plan", "leaking", "leaking caught", "fine", "fine quarantined"]
    body = []
    for name, t in rows.items():
        rec = t.to_record()
        caught = "-" if rec["leaking_caught_pct"] is None else f"{rec['leaking_caught_pct']:.1f}%"
        false = "-" if rec["fine_quarantined_pct"] is None else f"{rec['fine_quarantined_pct']:.1f}%"
        body.append([name, str(t.trials), str(t.refused_by_plan), str(t.leaking), caught, str(t.fine), false])
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rec = study.to_record()
    out = [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body), ""]
    out.append(
        f"leaking: from the truth, a sensitive value shows a character ({CHARACTER:g} text heights of a line with "
        f">= {VISIBLE_HEIGHT:.0%} of its height unmasked) or the face is < {READABLE:.0%} masked. "
        f"verify ms p50 {rec['verify_ms_median']}. correct = masked from the truth; "
        "held-out = cards of layout families no locator is tuned on."
    )
    if rec["missed"]:
        out.append("missed: " + ", ".join(f"{m['image']} ({m['fault']})" for m in rec["missed"][:20]))
    if rec["false_alarms"]:
        out.append("false alarms: " + ", ".join(rec["false_alarms"][:20]))
    return "\n".join(out)
