"""gunicorn configuration of the multi-process tests: the documented one-line hook."""

from lexigram.monitor.metrics.multiprocess import child_exit as child_exit
