from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import NotificationPreference
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_delivery_leases')]

    initial = False

    operations = [
        # Existing accounts keep today's behaviour, one email per shared environment: EACH.
        # Added nullable, filled, then made NOT NULL, because the ORM's default is not a
        # database default (as in 0003).
        ops.AddField(
            model_name='Account',
            name='notification_preference',
            field=fields.CharEnumField(null=True, default=NotificationPreference.EACH, description='EACH: EACH\nDIGEST: DIGEST\nOFF: OFF', enum_type=NotificationPreference, max_length=8),
        ),
        ops.RunSQL("UPDATE account SET notification_preference = 'EACH' WHERE notification_preference IS NULL"),
        ops.AlterField(
            model_name='Account',
            name='notification_preference',
            field=fields.CharEnumField(default=NotificationPreference.EACH, description='EACH: EACH\nDIGEST: DIGEST\nOFF: OFF', enum_type=NotificationPreference, max_length=8),
        ),
        # The digest (share_notifications job) that claimed the environment before sending.
        ops.AddField(
            model_name='ShareNotice',
            name='digest_outbox_id',
            field=fields.UUIDField(null=True),
        ),
    ]
