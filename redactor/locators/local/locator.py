"""The local locator: AILicenseRec-shaped results from an offline OCR model, read off the card itself.

Steps for one image:
1. detect text lines (one pass of the DB detector; a second, zoomed pass where the text
   is small, as on an A4 photocopy page), group them by direction and by proximity, and
   put each group in reading direction (the 0/180 classifier votes per group);
2. read each line's leading characters, with where each character sits;
3. find the labels by their words and join clusters into cards while their labels agree
   on one side (ID front, ID back, licence);
4. find the photo and, on a licence, the red seal from the pixels;
5. give each label the band right of it on its row (to the next label, the photo or the
   card's edge; an address down to the next row) and every other line on the card as an
   unknown field. Scores come from how well the labels were read and whether the band
   holds text.
"""

from __future__ import annotations

import numpy as np

from redactor.core.fields import FIELDS_BY_CARD, PORTRAIT, CardType, CardTypeHint
from redactor.core.frame import Box, CardFrame, Found, clear_of
from redactor.core.portrait import find_portrait, find_seal
from redactor.core.results import Detection, LocatedField, Polygon
from redactor.core.vocabulary import KEPT_VALUE, LABELS, SEAL_LABEL
from redactor.locators.base import BaseLocator, LocateRequest
from redactor.locators.local.bands import build_cells, infer_rows, kept_value_ok, without_english
from redactor.locators.local.cards import CardReading, Cell, Span, assemble, clusters
from redactor.locators.local.ocr import OcrModels, crop_line, shared_models
from redactor.locators.local.reading import Line, LineReader, dominant_axis

#: Longer image side the detector sees on the first pass (larger for big pages).
DET_LIMIT = 736
PAGE_DET_LIMIT = 1152
#: Images with a longer side above this are pages (photocopies, big scans).
PAGE_SIZE = 1800
#: Text lower than this in the detector's input (pixels) is detected again, zoomed.
SMALL_DET_HEIGHT = 13.0
#: Zoomed detection aims at this height and sees at most this many pixels along a side.
ZOOM_DET_HEIGHT = 26.0
ZOOM_LIMIT = 1280
#: A card whose expected labels were not all read is detected again, closer, when its text
#: was lower than this in the first pass (pixels) ...
RETRY_DET_HEIGHT = 22.0
#: ... so that its text is this high: small labels beside their values and under a seal
#: separate from what surrounds them.
RETRY_ZOOM_HEIGHT = 24.0
MAX_CARDS = 4
#: A cluster of lines votes on its own reading direction (0/180) from this many lines on:
#: a card of its own; fewer lines (a label and its value) keep their group's direction.
REVOTE_LINES = 6
#: Detector boxes this many times taller than the typical line are shapes, not text.
GIANT_LINE = 2.6
#: Fields a policy usually keeps: a value in their band must look like one to stay visible.
KEPT_CANDIDATES = frozenset(KEPT_VALUE)
#: A kept field's polygon is its value's own lines from this score on (below it, the policy's
#: ``uncertain`` action masks the whole band).
KEPT_SCORE = 85.0
#: The seal's mask is pulled back from kept values at most to this far (text heights)
#: around the red ink seen.
SEAL_INK_MARGIN = 0.3
#: Where the photo is looked for, in text heights around what was read on the card...
PORTRAIT_REACH = (2.0, 2.5, 5.0, 2.0)  # left, top, right, bottom
#: ... and to the right at least this share of the text's extent (a photo stands beside the
#: rows, as wide as a third of the card, after a gap a short address leaves wide).
PORTRAIT_REACH_SHARE = 0.45


class LocalLocator(BaseLocator):
    """Offline locator on the PP-OCR models of the ``rapidocr`` wheel; safe to share across threads."""

    name = "local"

    def __init__(self, models: OcrModels | None = None) -> None:
        self._models = models

    @property
    def models(self) -> OcrModels:
        """The injected models, else the process's shared ones (loaded at the first image)."""
        return self._models if self._models is not None else shared_models()

    def locate(self, request: LocateRequest) -> Detection:
        rgb = np.asarray(request.image if request.image.mode == "RGB" else request.image.convert("RGB"))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with self.models.inference:
            return self._locate(request, rgb, bgr)

    # ------------------------------------------------------------------ steps

    def _locate(self, request: LocateRequest, rgb: np.ndarray, bgr: np.ndarray) -> Detection:
        reader = LineReader(self.models)
        size = request.image.size
        limit = PAGE_DET_LIMIT if max(size) > PAGE_SIZE else DET_LIMIT
        lines = reader.detect(bgr, limit)
        ratio = min(1.0, limit / max(size))
        seen_height = float(np.median([ln.height for ln in lines])) * ratio if lines else 0.0
        zoomed = False
        if lines and seen_height < SMALL_DET_HEIGHT:
            zoomed_lines = self._zoomed(reader, bgr, lines)
            lines, zoomed = zoomed_lines or lines, bool(zoomed_lines)
        allowed = _allowed(request.card_type)
        lines, cards = self._cards(reader, lines, allowed)
        if cards and not zoomed and seen_height < RETRY_DET_HEIGHT and any(_labels_missing(c) for c in cards):
            # labels printed small, or under a seal, that the first pass did not separate: look
            # again, closer, at the text seen and keep the reading that names more of the card
            finer = self._zoomed(reader, bgr, lines, RETRY_ZOOM_HEIGHT)
            if finer:
                finer, again = self._cards(reader, finer, allowed)
                if _named(again) > _named(cards):
                    lines, cards = finer, again
        if not cards:
            return Detection(0, (), None, None, ())
        image_box = Box(0.0, 0.0, float(size[0]), float(size[1]))
        fields: list[LocatedField] = []
        problems: list[str] = []
        for card in cards:
            self._read_card(card, rgb, image_box)
            fields.extend(_fields(card))
            problems.extend(card.problems)
        on_cards = {id(ln) for c in cards for ln in c.lines}
        stray = [ln for ln in lines if id(ln) not in on_cards]
        if any(ln.read and any(lab.text in ln.text for lab in LABELS) for ln in stray):
            problems.append("card labels found outside every card read: another card may be there")
        for ln in stray:
            fields.append(LocatedField("unexplained text", 90.0, Polygon.of(ln.frame.tolist())))
        types = {c.card_type for c in cards}
        card_type = types.pop() if len(types) == 1 else None
        quad = Polygon.of(cards[0].frame.to_image(cards[0].extent(1.0).corners()).tolist())
        return Detection(1, tuple(fields), card_type, quad, tuple(dict.fromkeys(problems)), portrait_searched=True)

    def _cards(
        self, reader: LineReader, lines: list[Line], allowed: set[CardType]
    ) -> tuple[list[Line], list[CardReading]]:
        """The cards these lines make (read, labelled, in reading direction); shapes far taller
        than the text are dropped first."""
        if lines:
            # a "line" several times taller than the text is a shape (a seal's ring, a
            # sticker, a pattern of the table), not text on the card
            typical = float(np.median([ln.height for ln in lines]))
            lines = [ln for ln in lines if ln.height <= GIANT_LINE * typical]
        cards: list[CardReading] = []
        for group in _direction_groups(reader, lines):
            reader.read(group)
            frame = _frame(group)
            # the side is read from all the card's words; a hint only filters (a licence is
            # not an ID card because it shares 姓名 and 住址 with one)
            cards.extend(c for c in assemble(group, frame, set(CardType)) if c.card_type in allowed)
        return lines, sorted(cards, key=lambda c: -len(c.hits))[:MAX_CARDS]

    def _zoomed(
        self, reader: LineReader, bgr: np.ndarray, lines: list[Line], target: float = ZOOM_DET_HEIGHT
    ) -> list[Line]:
        """Detect again, enlarged so the text is ``target`` pixels high, where text was seen
        (each cluster of lines on its own)."""
        h_img, w_img = bgr.shape[:2]
        typical = float(np.median([ln.height for ln in lines]))
        pad = 4.0 * typical
        boxes = [[*(ln.frame.min(axis=0) - pad), *(ln.frame.max(axis=0) + pad)] for ln in lines]
        merged = _merge_overlapping(boxes)
        out: list[Line] = []
        for r in merged[: MAX_CARDS * 2]:
            area = (max(0, int(r[0])), max(0, int(r[1])), min(w_img, int(r[2])), min(h_img, int(r[3])))
            if area[2] - area[0] < 16 or area[3] - area[1] < 16:
                continue
            scale = min(3.0, target / max(typical, 1.0))
            out.extend(reader.detect(bgr, ZOOM_LIMIT, area, scale))
        return out

    def _read_card(self, card: CardReading, rgb: np.ndarray, image_box: Box) -> None:
        h = card.frame.text_height
        if card.card_type in (CardType.ID_CARD, CardType.DRIVER_LICENSE):
            build_cells(card, image_box)
            keep = [s.quad for cell in card.cells if cell.hit.label.field in KEPT_CANDIDATES for s in cell.spans]
            ext = card.extent(0.0)
            left, top, right, bottom = PORTRAIT_REACH
            right = max(right * h, PORTRAIT_REACH_SHARE * ext.width)
            region = Box(ext.u0 - left * h, ext.v0 - top * h, ext.u1 + right, ext.v1 + bottom * h)
            # a "line" far taller than the text (the seal's ring of characters) hides no photo
            text = [ln.frame for ln in card.lines if ln.height <= 1.8 * h]
            seal: list[np.ndarray] = []
            if card.card_type is CardType.DRIVER_LICENSE and not any(
                hit.label.field == "issuing_authority" for hit in card.hits
            ):
                # on the card only (a red table or sticker beside it is no seal), anywhere on
                # it: beside the rows or over the photo, as far as the photo is looked for
                near = Box(ext.u0 - 4.0 * h, ext.v0 - 4.0 * h, max(ext.u1 + 4.0 * h, region.u1), ext.v1 + 4.0 * h)
                card.seal = find_seal(rgb, card.frame, near, text)
                if card.seal is not None:  # the seal is no photo
                    seal = [card.frame.to_image(card.seal.box.corners())]
                    card.seal = _clear_of_kept(card.seal, card, keep)
            card.portrait = find_portrait(rgb, card.frame, region, text, keep, card.extent(0.0), seal)
            card.unknown = []
        build_cells(card, image_box)
        if infer_rows(card):
            card.unknown = []
            build_cells(card, image_box)


def _clear_of_kept(found: Found, card: CardReading, keep: list[np.ndarray]) -> Found:
    """The seal's square, its margin pulled back from kept values (a seal printed over the
    lower labels sits next to the vehicle class), never into its ink: a kept value under
    the seal's ring is masked with it (an arc of the ring left beside it shows the issuing
    authority's name in part)."""
    h = card.frame.text_height
    b = found.box
    ink = found.core if found.core is not None else b
    m = SEAL_INK_MARGIN * h
    core = Box(max(b.u0, ink.u0 - m), max(b.v0, ink.v0 - m), min(b.u1, ink.u1 + m), min(b.v1, ink.v1 + m))
    box = clear_of(b, core, [Box.around(card.frame.to_card(q)) for q in keep], 0.3 * h)
    return Found(box, Polygon.of(card.frame.to_image(box.corners()).tolist()), found.score, found.core)


def _labels_missing(card: CardReading) -> bool:
    """Whether a card's side prints labels that were not read on it."""
    if card.card_type is None:
        return False
    found = {hit.label.field for hit in card.hits}
    # a licence names its issuing authority with the seal, printed with no label
    unlabelled = {PORTRAIT, SEAL_LABEL.field} if card.card_type is CardType.DRIVER_LICENSE else {PORTRAIT}
    return any(f not in unlabelled and f not in found for f in FIELDS_BY_CARD[card.card_type])


def _named(cards: list[CardReading]) -> int:
    """How many of the cards' expected labels were read (the better of two readings names more)."""
    return sum(len({hit.label.field for hit in c.hits}) for c in cards)


def _merge_overlapping(boxes: list[list[float]]) -> list[list[float]]:
    """Boxes (x0, y0, x1, y1) joined while any two overlap; largest first."""
    merged: list[list[float]] = []
    for box in boxes:
        box = list(box)
        while True:
            hit = next((m for m in merged if box[0] < m[2] and m[0] < box[2] and box[1] < m[3] and m[1] < box[3]), None)
            if hit is None:
                break
            merged.remove(hit)
            box = [min(box[0], hit[0]), min(box[1], hit[1]), max(box[2], hit[2]), max(box[3], hit[3])]
        merged.append(box)
    return sorted(merged, key=lambda r: (r[2] - r[0]) * (r[3] - r[1]), reverse=True)


def _allowed(hint: CardTypeHint) -> set[CardType]:
    wanted = hint.card_type()
    if wanted is None:
        return set(CardType)
    if wanted is CardType.ID_CARD:
        return {CardType.ID_CARD, CardType.ID_CARD_BACK}
    return {wanted}


def _frame(lines: list[Line]) -> CardFrame:
    axis = dominant_axis([ln.box for ln in lines])
    # the lines' own reading direction decides the sign
    if sum(float(ln.axis @ axis) * ln.length for ln in lines) < 0:
        axis = -axis
    height = float(np.median([ln.height for ln in lines])) if lines else 10.0
    return CardFrame((0.0, 0.0), (float(axis[0]), float(axis[1])), height)


def _direction_groups(reader: LineReader, lines: list[Line]) -> list[list[Line]]:
    """Lines split by reading direction: each proximity cluster votes on 0/180 on its own
    (two cards in one photo may lie opposite ways)."""
    if not lines:
        return []
    groups: list[list[Line]] = []
    by_axis: list[list[Line]] = []
    for ln in lines:
        for members in by_axis:
            ref = members[0].axis
            if abs(float(ln.axis @ ref)) > 0.87:
                members.append(ln)
                break
        else:
            by_axis.append([ln])
    for members in by_axis:
        frame = _frame(members)
        for cluster in clusters(members, frame):
            if len(cluster) >= REVOTE_LINES:
                cluster = _revote(reader, cluster)
            placed = False
            for g in groups:
                if float(g[0].axis @ cluster[0].axis) > 0.87:
                    g.extend(cluster)
                    placed = True
                    break
            if not placed:
                groups.append(list(cluster))
    return groups


def _revote(reader: LineReader, cluster: list[Line]) -> list[Line]:
    longest = sorted(cluster, key=lambda ln: -ln.length)[:6]
    votes = reader.models.upside_down([crop_line(ln.image, ln.frame, 4.0) for ln in longest])
    if sum(1 for p in votes if p > 0.5) <= len(votes) / 2:
        return cluster
    return [Line(ln.box, np.asarray(ln.frame[[2, 3, 0, 1]]), ln.image) for ln in cluster]


def _score(cell: Cell) -> float:
    hit = cell.hit
    if hit.inferred:
        score = 80.0  # named by the row order and the shape of its value, not by a label
    elif hit.exact and hit.confidence >= 0.85:
        score = 96.0
    elif hit.exact:
        score = 88.0
    else:
        score = 82.0
    if not cell.spans:
        score = min(score, 72.0)  # the label was read, its value was not seen: doubt the band
    return score


def _strips(quad: np.ndarray, text_height: float) -> list[np.ndarray]:
    """A band (start-top, end-top, end-bottom, start-bottom) cut into strips about a line high."""
    tall = float(np.linalg.norm(quad[3] - quad[0]))
    count = max(1, int(np.ceil(tall / (1.6 * text_height))))
    out = []
    for k in range(count):
        a, b = k / count, (k + 1) / count
        out.append(
            np.array(
                [
                    quad[0] + (quad[3] - quad[0]) * a,
                    quad[1] + (quad[2] - quad[1]) * a,
                    quad[1] + (quad[2] - quad[1]) * b,
                    quad[0] + (quad[3] - quad[0]) * b,
                ]
            )
        )
    return out


def _fields(card: CardReading) -> list[LocatedField]:
    import cv2

    out: list[LocatedField] = []
    card_type = card.card_type
    unknown: list[Span] = list(card.unknown)
    for cell in card.cells:
        field_id = cell.hit.label.field
        spans = cell.spans
        if field_id in KEPT_CANDIDATES:
            # the English sub-label merged into a kept value is wording, not part of the value
            spans = [without_english(s) for s in spans]
            bad = [s for s in spans if not s.line.read or not kept_value_ok(field_id, s.text)]
            unknown.extend(bad)
            spans = [s for s in spans if all(s is not b for b in bad)]
        score = _score(cell)
        if cell.hit.label.multiline:
            # one polygon per line of the band, so the policy's padding (a share of the
            # polygon's height) stays a share of a line, not of the whole address
            for part in [*_strips(cell.quad, card.frame.text_height), *[s.quad for s in spans]]:
                out.append(LocatedField(cell.hit.label.text, score, Polygon.of(part.tolist()), card_type, field_id))
            continue
        if field_id in KEPT_CANDIDATES and spans and score >= KEPT_SCORE:
            # a value a policy may keep is reported where it is printed, not as its whole band:
            # what stays visible is the value, and masks beside it keep clear of the value
            points = np.vstack([s.quad for s in spans]).astype(np.float32)
        else:
            points = np.vstack([cell.quad, *[s.quad for s in spans]]).astype(np.float32)
        hull = cv2.convexHull(points).reshape(-1, 2)
        out.append(LocatedField(cell.hit.label.text, score, Polygon.of(hull.tolist()), card_type, field_id))
    if card.portrait is not None:
        out.append(LocatedField("portrait", round(card.portrait.score), card.portrait.polygon, card_type, PORTRAIT))
    if card.seal is not None:
        seal_points: list[np.ndarray] = [np.asarray(card.seal.polygon.points)]
        seal_box = card.seal.box
        for span in list(unknown):
            if Box.around(card.frame.to_card(span.quad)).overlaps(seal_box):
                seal_points.append(span.quad)
        hull = cv2.convexHull(np.vstack(seal_points).astype(np.float32)).reshape(-1, 2)
        seal = Polygon.of(hull.tolist())
        out.append(LocatedField(SEAL_LABEL.text, card.seal.score, seal, card_type, SEAL_LABEL.field))
    for span in unknown:
        out.append(LocatedField("unexplained text", 90.0, Polygon.of(span.quad.tolist()), card_type, None))
    return out
