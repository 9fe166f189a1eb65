"""redactor: mask the sensitive fields of Chinese ID card and driving licence images."""

__version__ = "0.1.0"
