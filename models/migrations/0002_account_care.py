from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import AccountTokenPurpose
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountToken',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='PASSWORD_RESET: PASSWORD_RESET\nEMAIL_VERIFICATION: EMAIL_VERIFICATION', enum_type=AccountTokenPurpose, max_length=24)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A single-use emailed link for the account: password reset or email verification.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='AuditEntry',
            name='actor_email',
            field=fields.CharField(null=True, max_length=320),
        ),
        ops.AddField(
            model_name='AuditEntry',
            name='target_name',
            field=fields.CharField(null=True, max_length=320),
        ),
        # Accounts made from an invitation proved their email by following it; older entries
        # get the actor's email from the account as it is now (the best history there is).
        ops.RunSQL([
            "UPDATE account SET email_verified_at = created_at WHERE kind = 'COLLABORATOR'",
            "UPDATE audit_entry SET actor_email = (SELECT email FROM account"
            " WHERE account.id = audit_entry.actor_id) WHERE actor_id IS NOT NULL",
        ]),
    ]
