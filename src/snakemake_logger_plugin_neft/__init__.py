"""Snakemake logger plugin ``neft``: the live progress view of ``neft.workflow.progress_view`` (``--logger neft``; the
default workflow profile selects it).

It adds to Snakemake's own output rather than replacing it (``writes_to_stream`` is False, so Snakemake keeps its
default stream handler and log file): it follows the log events (job stats, job starts and ends, progress, cores)
and prints a progress line now and then (``neft.workflow.progress_view.view_enabled`` says when: never in a dry run,
under ``--quiet``, in CI or without a terminal, unless ``NEFT_PROGRESS=1``). It has its own (empty) filter so that it
sees every event. Snakemake imports every installed logger plugin for every command, so this package imports nothing
heavy and changes nothing in Snakemake when imported (tests/test_configfiles.py checks that).
"""

from __future__ import annotations

from snakemake_interface_logger_plugins.base import LogHandlerBase

from neft.workflow.progress_view import terminal_view, view_enabled


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        s = self.common_settings
        enabled = view_enabled(getattr(s, "quiet", None), bool(getattr(s, "dryrun", False)))
        self.view = terminal_view(stdout=bool(getattr(s, "stdout", False))) if enabled else None

    def emit(self, record) -> None:
        event = getattr(record, "event", None)
        if self.view is None or event is None:
            return
        try:
            self.view.handle(str(event), vars(record))
        except Exception:  # noqa: BLE001, S110 - a progress view must never break a run
            pass

    def close(self) -> None:
        if self.view is not None:
            self.view.stop()
            self.view = None
        super().close()

    @property
    def writes_to_stream(self) -> bool:
        return False  # Snakemake's default handler stays; this one only adds progress lines

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True  # no DefaultFilter: the view needs every event (it decides itself whether to show anything)

    @property
    def has_formatter(self) -> bool:
        return True  # it formats its own lines

    @property
    def needs_rulegraph(self) -> bool:
        return False
