"""In-memory locator twin for tests: returns detections it was given, or raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from redactor.core.results import Detection
from redactor.locators.base import BaseLocator, LocateRequest


class StaticLocator(BaseLocator):
    """Answers from a fixed detection, a mapping by image name, or a function."""

    name = "static"

    def __init__(self, answer: Detection | Mapping[str, Detection] | Callable[[LocateRequest], Detection]) -> None:
        self._answer = answer
        self.calls: list[str] = []

    def locate(self, request: LocateRequest) -> Detection:
        self.calls.append(request.name)
        if isinstance(self._answer, Detection):
            return self._answer
        if callable(self._answer):
            return self._answer(request)
        return self._answer[request.name]
