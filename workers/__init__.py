"""arq workers: the outbox relay, email jobs, fan-out and cron schedules."""
