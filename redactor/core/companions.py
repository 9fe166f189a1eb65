"""The files stored beside an image (``<image><suffix>``): one spelling for every adapter.

Readers (the replay locator, the emulator, the evaluator) and writers (the generator) of
these files name them from here, so a sidecar written by one is found by the others.
"""

from __future__ import annotations

#: A saved AILicenseRec response for the image (what the replay engine answers with).
SIDECAR_SUFFIX = ".ailicenserec.xml"
#: A generated image's ground truth (field polygons in image pixels).
TRUTH_SUFFIX = ".truth.json"
