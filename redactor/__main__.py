"""``python -m redactor``: the same command line as ``redactor``."""

from redactor.cli import main

main()
