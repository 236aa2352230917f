"""Every lookup the service makes is served by an index, on SQLite and PostgreSQL.

The story below drives the whole API an owner and a collaborator use (tree, invitations,
shares, the dashboard, "Shared by me", the audit log, explanations, state changes) and the
workers' scheduled scans, records every read, update and delete statement it sends, and
asks the database for each one's plan. A table read in full grows with every other
provider's data: with a million other accounts, `invitations` took 39-53 times longer
before `member.email` had an index (issue 22). The policy catalogue and the migration
ledger stay small and may be read whole (bench.plans.SMALL_TABLES).
"""

from __future__ import annotations

from datetime import timedelta

from bench.plans import StatementLog, scans_by_statement
from bench.queries import DASHBOARD, MEMBERS
from domain.clock import utcnow
from domain.reminders import queue_invitation_reminders, queue_trial_warnings
from tests.acceptance.helpers import (
    ADD_TO_GROUP,
    CREATE_GROUP,
    FULL_ACCESS,
    SET_KIND,
    UPDATE_MEMBER,
    VIEWER,
    active_member,
    env,
    group,
    invite,
    platform,
    user,
)
from tests.utils.graphql import GraphQLClient
from workers.invitations import expire_invitations
from workers.trials import expire_trials

INVITATIONS = "{ invitations { id owner { displayName email } email status expiresAt } }"
AUDIT = """query($first: Int, $after: String, $filter: AuditFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id at actor { id email } action outcome targetType targetId } }
    pageInfo { hasNextPage endCursor } } }"""
EXPLAIN = """query($m: ID!, $e: ID!) { explainAccess(memberId: $m, environmentId: $e) {
  policies level reason grants { roles { id } inherited } outranked { inherited } } }"""
COLLABORATORS = "query($id: ID!) { environment(id: $id) { id collaborators { member { id } } } }"
SUSPEND = "mutation($id: ID!) { suspendMember(id: $id) { member { id status } errors { code } } }"
ACTIVATE = "mutation($id: ID!) { activateMember(id: $id) { member { id status } errors { code } } }"
REMOVE = "mutation($id: ID!) { removeMember(id: $id) { member { id status } errors { code } } }"
LEAVE = "mutation($id: ID!) { leaveCollaboration(memberId: $id) { member { id } errors { code } } }"
DELETE_ENV = (
    "mutation($id: ID!) { deleteEnvironment(id: $id) { environment { id } errors { code } } }"
)
ENVIRONMENTS = "{ environments { id name status groups { id } } environmentGroups { id } }"


async def _story(gql: GraphQLClient) -> None:
    owner = await user(gql, "Olga Owner")
    colleague = await user(gql, "Carl Colleague")
    trial = await user(gql, "Tina Trial")
    top = await group(owner, "Production")
    child = (await owner.gql(CREATE_GROUP, name="Web", parentId=top)).ok("createEnvironmentGroup")[
        "environmentGroup"
    ]["id"]
    web = await env(owner, groupId=child)
    api = await env(owner)
    await owner.gql(ADD_TO_GROUP, e=api["id"], g=top)
    member = await active_member(owner, colleague, shares=[{"groupId": top, "roleIds": [VIEWER]}])
    # Pending invitations, as the invitee and as the owner see them.
    pending = await invite(owner, trial.email, shares=[{"root": True, "roleIds": [VIEWER]}])
    await trial.gql(INVITATIONS)
    await owner.gql(
        UPDATE_MEMBER, id=member,
        input={"shares": [{"groupId": child, "roleIds": [FULL_ACCESS]},
                          {"environmentId": api["id"], "roleIds": [VIEWER]}]},
    )  # fmt: skip
    # The reads that open the dashboard, "Shared by me" and the audit screens.
    await colleague.gql(DASHBOARD)
    await owner.gql(MEMBERS)
    await owner.gql(ENVIRONMENTS)
    page = (await owner.gql(AUDIT, first=2)).data["auditLog"]
    await owner.gql(AUDIT, first=2, after=page["pageInfo"]["endCursor"])
    await owner.gql(AUDIT, first=5, filter={"environmentId": web["id"]})
    await owner.gql(AUDIT, first=5, filter={"actorId": colleague.id, "action": "member.invite"})
    await owner.gql(EXPLAIN, m=member, e=web["id"])
    await owner.gql(COLLABORATORS, id=web["id"])
    # State changes of a membership, and the collaborator leaving.
    await owner.gql(SUSPEND, id=member)
    await owner.gql(ACTIVATE, id=member)
    await colleague.gql(LEAVE, id=member)
    await owner.gql(REMOVE, id=pending["id"])
    await owner.gql(DELETE_ENV, id=api["id"])
    # Trials ending, and the workers' scheduled scans.
    other = await user(gql, "Owen Other")
    await active_member(other, trial, shares=[{"root": True, "roleIds": [VIEWER]}])
    ends = (utcnow() - timedelta(minutes=1)).isoformat()
    await platform(gql)(SET_KIND, id=trial.id, kind="TRIAL", ends=ends)
    await expire_trials({})
    await expire_invitations({})
    now = utcnow()
    await queue_invitation_reminders(now, 72)
    await queue_trial_warnings(now, 3)


async def test_every_lookup_has_an_index(gql: GraphQLClient, settings: object) -> None:
    log = StatementLog()
    with log.recording():
        await _story(gql)
    dialect = "postgres" if str(settings.DATABASE_URL).startswith("postgres") else "sqlite"  # type: ignore[attr-defined]
    assert len(log.statements) > 40, "the story sent fewer statements than expected"
    scans = await scans_by_statement(list(log.statements.values()), dialect)
    assert not scans, "\n\n".join(
        f"{sorted(t)} read in full by:\n{sql}" for sql, t in scans.items()
    )


async def test_every_foreign_key_leads_an_index(settings: object, app: object) -> None:
    """Deleting a row checks or cascades into each table that refers to it, by that
    column: without an index each delete reads the referring table in full."""
    url = str(settings.DATABASE_URL)  # type: ignore[attr-defined]
    missing = await (_pg_unindexed() if url.startswith("postgres") else _sqlite_unindexed())
    assert not missing, f"foreign keys without an index: {sorted(missing)}"


async def _pg_unindexed() -> set[str]:
    from tortoise import Tortoise

    _, rows = await Tortoise.get_connection("default").execute_query(
        """SELECT c.conrelid::regclass::text AS tbl, a.attname AS col
             FROM pg_constraint c
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND NOT EXISTS (
                  SELECT 1 FROM pg_index i
                   WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"""
    )
    return {f"{row['tbl']}.{row['col']}" for row in rows}


async def _sqlite_unindexed() -> set[str]:
    from tortoise import Tortoise

    connection = Tortoise.get_connection("default")
    _, tables = await connection.execute_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    missing: set[str] = set()
    for (table,) in (tuple(t) for t in tables):
        _, keys = await connection.execute_query(f'PRAGMA foreign_key_list("{table}")')
        _, indexes = await connection.execute_query(f'PRAGMA index_list("{table}")')
        leading = set()
        for index in indexes:
            _, columns = await connection.execute_query(f'PRAGMA index_info("{index["name"]}")')
            first = min(columns, key=lambda c: c["seqno"])
            leading.add(first["name"])
        missing |= {f"{table}.{key['from']}" for key in keys if key["from"] not in leading}
    return missing
