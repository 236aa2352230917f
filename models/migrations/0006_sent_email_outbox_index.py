from tortoise import migrations
from tortoise.migrations import operations as ops

# 0003 added `sent_email.outbox_id` with `db_index=True`, but Tortoise's AddField creates
# no index (CreateModel does): every job's `release_previous_runs` scanned the whole table
# (0.15-0.2 s at 70,000 rows, found profiling the fan-out). The same SQL on SQLite and
# PostgreSQL; IF NOT EXISTS keeps it safe where an operator already added one.


class Migration(migrations.Migration):
    dependencies = [('models', '0005_reminders')]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE INDEX IF NOT EXISTS idx_sent_email_outbox_id ON sent_email (outbox_id)",
            reverse_sql="DROP INDEX IF EXISTS idx_sent_email_outbox_id",
        ),
    ]
