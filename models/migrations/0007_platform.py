from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from models.enums import OperationStatus

# The platform behind the gateway (CONTRACT section 6, domain/platform.py): owners linked to
# their platform accounts, environments that know an operation is open or the platform is
# mid-transition, and operations with a status the worker carries to its end. Rows from
# before are the built-in backend's: done (SUCCEEDED), and environments not busy. NOT NULL
# columns are added nullable, filled, then tightened (the ORM's default is not the
# database's).


class Migration(migrations.Migration):
    dependencies = [('models', '0006_sent_email_outbox_index')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='EnvironmentOperation',
            options={'table': 'environment_operation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What the platform was asked to do. The built-in backend writes each one SUCCEEDED;'},
        ),
        ops.AddField(
            model_name='Account',
            name='platform_uid',
            field=fields.CharField(null=True, max_length=120),
        ),
        # SQLite cannot add a UNIQUE column; a unique index does the same on both, and
        # NULLs (owners not linked) never clash.
        ops.RunSQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_account_platform_uid ON account (platform_uid)",
            reverse_sql="DROP INDEX IF EXISTS uq_account_platform_uid",
        ),
        ops.AddField(
            model_name='Environment',
            name='platform_busy',
            field=fields.BooleanField(null=True, default=False),
        ),
        ops.RunSQL("UPDATE environment SET platform_busy = FALSE WHERE platform_busy IS NULL"),
        ops.AlterField(
            model_name='Environment',
            name='platform_busy',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Environment',
            name='open_operation_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='status',
            field=fields.CharEnumField(null=True, default=OperationStatus.SUCCEEDED, description='PENDING: PENDING\nRUNNING: RUNNING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=OperationStatus, max_length=10),
        ),
        ops.RunSQL("UPDATE environment_operation SET status = 'SUCCEEDED' WHERE status IS NULL"),
        ops.AlterField(
            model_name='EnvironmentOperation',
            name='status',
            field=fields.CharEnumField(default=OperationStatus.SUCCEEDED, description='PENDING: PENDING\nRUNNING: RUNNING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=OperationStatus, max_length=10),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='error_code',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='error_message',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='params',
            field=fields.JSONField(null=True),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='started_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='finished_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='called_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EnvironmentOperation',
            name='audit_id',
            field=fields.UUIDField(null=True),
        ),
    ]
