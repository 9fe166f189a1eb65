"""Measure a locator against generated ground truth: does the policy's mask really cover each field?

A locator can look fine by its own scores and still leave pixels of a value unmasked, so
coverage is measured on pixels: the ground-truth value polygon (from ``<image>.truth.json``,
written by :mod:`redactor.generator`) against the union of the masks the plan would draw,
after the policy's padding. The number that must stay at zero is *silent leaks*: images
the pipeline would write as redacted while a sensitive field is not covered.

Truth values are never read into the results: records carry field ids, never text.
"""

from __future__ import annotations

from redactor.core.companions import TRUTH_SUFFIX
from redactor.evaluation.aggregate import (
    ALL,
    ALL_HELD_OUT,
    ALL_TUNED,
    GROUP_ORDER,
    Evaluation,
    FieldStats,
    GroupSummary,
    is_held_out,
    peak_rss_mb,
    run_evaluation,
    summarise,
    summarise_families,
)
from redactor.evaluation.measure import (
    COVERED_FRACTION,
    KEPT_MASKED_LIMIT,
    PORTRAIT_COVERED_FRACTION,
    FieldResult,
    ImageResult,
    evaluate_detection,
    evaluate_image,
    find_images,
    verify_plan,
)
from redactor.evaluation.pixels import (
    PixelMask,
    mask_union,
    masked_fraction,
    raster_iou,
    rasterize,
)
from redactor.evaluation.report import (
    TABLE_COLUMNS,
    format_report,
)
from redactor.evaluation.truth import (
    NOT_REDACTABLE,
    Truth,
    TruthCard,
    TruthField,
    load_truth,
    read_truth,
    truth_file,
)
from redactor.generator.families import KIND_CARD_TYPES

__all__ = [
    "ALL",
    "ALL_HELD_OUT",
    "ALL_TUNED",
    "COVERED_FRACTION",
    "GROUP_ORDER",
    "KEPT_MASKED_LIMIT",
    "KIND_CARD_TYPES",
    "NOT_REDACTABLE",
    "PORTRAIT_COVERED_FRACTION",
    "TABLE_COLUMNS",
    "TRUTH_SUFFIX",
    "Evaluation",
    "FieldResult",
    "FieldStats",
    "GroupSummary",
    "ImageResult",
    "PixelMask",
    "Truth",
    "TruthCard",
    "TruthField",
    "evaluate_detection",
    "evaluate_image",
    "find_images",
    "format_report",
    "is_held_out",
    "load_truth",
    "mask_union",
    "masked_fraction",
    "peak_rss_mb",
    "raster_iou",
    "rasterize",
    "read_truth",
    "run_evaluation",
    "summarise",
    "summarise_families",
    "truth_file",
    "verify_plan",
]
