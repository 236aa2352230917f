"""The GraphQL documents the scenarios send, as a dashboard and a mobile app would."""

from __future__ import annotations

_ENV = "id name displayName status myPolicies"

# The dashboard's page view: every shared environment and the shared tree three levels deep.
DASHBOARD = (
    "query Dashboard { sharedWithMe { owner { id displayName } member { id status } "
    f"canCreateEnvironments environments {{ {_ENV} }} "
    f"groups {{ id name environments {{ {_ENV} }} "
    f"children {{ id name environments {{ {_ENV} }} "
    f"children {{ id name environments {{ {_ENV} }} }} }} }} }} }}"
)

# The owner's "Shared by me" screen.
MEMBERS = (
    "query Members { members { id email displayName status accountRole invitedAt acceptedAt "
    "account { id displayName } shares { id expiresAt roles { id name } "
    "target { __typename ... on Environment { id name } ... on EnvironmentGroup { id name } "
    "... on EnvironmentsRoot { owner { id } } } } } }"
)

# The owner's environment list with effective policies and a guarded field.
ENVIRONMENTS = "query Environments { environments { id name status myPolicies sshAccess logs } }"

INVITE = (
    "mutation Invite($email: String!) { inviteMember(input: {email: $email}) "
    "{ member { id status } errors { code message } } }"
)
