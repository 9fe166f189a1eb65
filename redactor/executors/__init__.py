"""Where ``redactor run`` processes images besides this process's threads: thin drivers that
list the source, hand keys to workers elsewhere and gather their report rows. Each worker
builds the runner :func:`redactor.runs.build_runner` builds, so every write decision (stamps,
write-once PUTs, quarantine) stays in :class:`redactor.pipeline.BatchRunner`."""
