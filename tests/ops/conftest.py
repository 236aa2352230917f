"""The operations tests reuse the workers' real SMTP server and in-process worker."""

from tests.workers.conftest import mailbox, start_worker, worker_settings  # noqa: F401
