"""`@requiresPolicy`: declared in the SDL, enforced in one place, failing one field only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.authz.helpers import FULL_ACCESS, VIEWER, active_member, create_env, share
from tests.utils.accounts import sign_up
from tests.utils.graphql import GraphQLClient

GUARDED = {
    "sshAccess": "access.ssh",
    "ftpAccess": "access.ftp",
    "logs": "logs.view",
    "resourceUsage": "stats.view",
    "scalingHistory": "scaling.horizontal.history",
}
ALL_FIELDS = """
query($id: ID!) { environment(id: $id) {
  id name myPolicies sshAccess ftpAccess logs
  resourceUsage { cloudlets cpuPercent memoryMb diskMb }
  scalingHistory { at message }
} }"""


async def test_a_missing_policy_nulls_that_field_only(gql: GraphQLClient) -> None:
    owner, viewer, full = [await sign_up(gql, n) for n in ("owner", "viewer", "full")]
    env = (await create_env(owner, "app"))["id"]
    await active_member(owner, viewer, shares=[share(VIEWER, env=env)])
    await active_member(owner, full, shares=[share(FULL_ACCESS, env=env)])

    r = await viewer.gql(ALL_FIELDS, id=env)
    data = r.data["environment"]
    assert data["id"] == env and data["name"] == "app"  # the rest of the result stands
    assert data["logs"] and data["resourceUsage"]["cloudlets"] >= 1  # Viewer has both
    refused = {e["path"][-1]: e["extensions"]["code"] for e in r.errors}
    assert refused == {"sshAccess": "FORBIDDEN", "ftpAccess": "FORBIDDEN",
                       "scalingHistory": "FORBIDDEN"}  # fmt: skip
    assert all(e["path"][:1] == ["environment"] for e in r.errors)
    assert data["sshAccess"] is None and data["ftpAccess"] is None
    assert data["scalingHistory"] is None

    for user in (owner, full):
        r = await user.gql(ALL_FIELDS, id=env)
        assert r.errors == []
        data = r.data["environment"]
        assert data["sshAccess"] and data["ftpAccess"] and data["scalingHistory"] == []


def test_the_directive_is_in_the_printed_sdl() -> None:
    collab = Path(sys.executable).parent / "collab"
    sdl = subprocess.run([str(collab), "schema"], capture_output=True, text=True, check=True,
                         timeout=60).stdout  # fmt: skip
    assert "directive @requiresPolicy(policy: String!) on FIELD_DEFINITION" in sdl
    environment = sdl.split("type Environment {", 1)[1].split("}", 1)[0]
    for field, policy in GUARDED.items():
        line = next(ln for ln in environment.splitlines() if ln.strip().startswith(f"{field}:"))
        assert line.rstrip().endswith(f'@requiresPolicy(policy: "{policy}")'), line


REPORT_SCALING = """mutation($id: ID!, $m: String!) {
  reportScalingEvent(environmentId: $id, message: $m) { environment { id } errors { code } } }"""
HISTORY = "query($id: ID!) { environment(id: $id) { scalingHistory { message } } }"


async def test_reported_scaling_events_form_the_scaling_history(gql: GraphQLClient) -> None:
    from tests.conftest import PLATFORM_TOKEN

    owner, full = await sign_up(gql, "owner"), await sign_up(gql, "full")
    env = (await create_env(owner, "app"))["id"]
    await active_member(owner, full, shares=[share(FULL_ACCESS, env=env)])
    platform = gql.as_(None)
    platform.headers["X-Platform-Token"] = PLATFORM_TOKEN
    for message in ("scaled out to 3 nodes", "scaled in to 2 nodes"):
        (await platform(REPORT_SCALING, id=env, m=message)).ok("reportScalingEvent")
    for user in (owner, full):
        history = (await user.gql(HISTORY, id=env)).data["environment"]["scalingHistory"]
        assert sorted(h["message"] for h in history) == [
            "scaled in to 2 nodes",
            "scaled out to 3 nodes",
        ]
