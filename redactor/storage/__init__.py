"""Storage adapters: folders (and COS later), with an in-memory twin."""

from redactor.storage.base import Storage, safe_key
from redactor.storage.folder import FolderStorage
from redactor.storage.memory import MemoryStorage

__all__ = ["FolderStorage", "MemoryStorage", "Storage", "safe_key"]
