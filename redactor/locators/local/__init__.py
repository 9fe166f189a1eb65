"""The offline locator (``--engine local``): OCR models from the ``rapidocr`` wheel, no network."""

from redactor.locators.local.locator import LocalLocator

__all__ = ["LocalLocator"]
