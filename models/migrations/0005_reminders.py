from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Reminders (workers/reminders.py): what the reminder crons claimed, so however many
# workers and runs overlap, each reminder is queued once. Both columns start NULL: an
# invitation or trial already due when this is applied gets its one reminder.


class Migration(migrations.Migration):
    dependencies = [('models', '0004_notification_preferences')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InvitationToken',
            name='reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='trial_warning_for',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
