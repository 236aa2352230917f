from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import SentEmailStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_account_care')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxJob',
            name='lease_owner',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AlterModelOptions(
            name='SentEmail',
            options={'table': 'sent_email', 'app': 'models', 'pk_attr': 'key', 'table_description': 'One row per email key, claimed before the hand-off to SMTP: a retried job finds its'},
        ),
        ops.AddField(
            model_name='SentEmail',
            name='claimed_by',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='SentEmail',
            name='message',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='SentEmail',
            name='outbox_id',
            field=fields.UUIDField(null=True, db_index=True),
        ),
        # Rows from before this migration are emails that left: SENT. Added nullable,
        # filled, then made NOT NULL, because the ORM's default is not a database default.
        ops.AddField(
            model_name='SentEmail',
            name='status',
            field=fields.CharEnumField(null=True, default=SentEmailStatus.SENT, description='CLAIMED: CLAIMED\nSENDING: SENDING\nSENT: SENT\nIN_DOUBT: IN_DOUBT', enum_type=SentEmailStatus, max_length=8),
        ),
        ops.RunSQL("UPDATE sent_email SET status = 'SENT' WHERE status IS NULL"),
        ops.AlterField(
            model_name='SentEmail',
            name='status',
            field=fields.CharEnumField(default=SentEmailStatus.SENT, description='CLAIMED: CLAIMED\nSENDING: SENDING\nSENT: SENT\nIN_DOUBT: IN_DOUBT', enum_type=SentEmailStatus, max_length=8),
        ),
    ]
