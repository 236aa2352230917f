from tortoise import migrations
from tortoise.migrations import operations as ops

# Lookups by a column other than the primary key, and the referring side of every foreign
# key: without these each read or delete scans the whole table, which grows with every other
# provider's data (issue 22: `invitations` x39-53, `auditLog` x52-64 after adding a million
# accounts). tests/acceptance/test_indexes.py checks the plans of every statement a full
# story sends, and that each foreign key leads an index, on both databases.
INDEXES = {
    "idx_member_account_status": "member (account_id, status)",
    "idx_member_email_status": "member (email, status)",
    "idx_member_status_expires": "member (status, invitation_expires_at)",
    "idx_invitation_token_member": "invitation_token (member_id)",
    "idx_account_token_account": "account_token (account_id, purpose)",
    "idx_session_account": "session (account_id)",
    "idx_account_kind_trial": "account (kind, trial_ends_at)",
    "idx_group_environment_env": "group_environment (environment_id)",
    "idx_share_group": "share (group_id)",
    "idx_share_environment": "share (environment_id)",
    "idx_share_role_role": "share_role (role_id)",
    "idx_role_owner": "role (owner_id)",
    "idx_role_policy_policy": "role_policy (policy_id)",
    "idx_environment_owner": "environment (owner_id)",
    "idx_environment_created_by": "environment (created_by_id)",
    "idx_environment_group_parent": "environment_group (parent_id)",
    "idx_environment_operation_env": "environment_operation (environment_id)",
    "idx_environment_operation_actor": "environment_operation (actor_id)",
    "idx_audit_entry_owner_at": "audit_entry (owner_id, at, id)",
    "idx_audit_entry_actor": "audit_entry (actor_id)",
}


class Migration(migrations.Migration):
    dependencies = [('models', '0007_platform')]

    initial = False

    operations = [
        ops.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {target}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, target in INDEXES.items()
    ]
