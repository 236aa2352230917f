// "Why?": explainAccess for one member on one environment.
import { useQuery } from "urql";
import { graphql } from "../../gql";
import type { AccessGrantViewFragment } from "../../gql/graphql";
import { Dialog, Loading, QueryError } from "../../ui";

graphql(`
  fragment AccessGrantView on AccessGrant {
    policies
    role { id name }
    share { id target { __typename ... on Environment { name } ... on EnvironmentGroup { name } ... on EnvironmentsRoot { owner { id } } } }
  }
`);
const ExplainQuery = graphql(`
  query ExplainAccess($memberId: ID!, $environmentId: ID!) {
    explainAccess(memberId: $memberId, environmentId: $environmentId) {
      policies level reason receiveLoadAlerts
      grants { ...AccessGrantView }
      outranked { ...AccessGrantView }
    }
    policies { code }
  }
`);

const LEVELS = { DIRECT: "a share on this environment itself", GROUP: "shares on the groups holding it", ROOT: "a share on all environments", NONE: "nothing" };
const REASONS = {
  NOT_ACTIVE: "The member has not accepted, or the collaboration ended.",
  SUSPENDED: "The member is suspended.",
  TRIAL_EXPIRED: "The member's trial ended.",
  SHARE_EXPIRED: "The share that covered this environment has expired.",
  NO_SHARE: "No share covers this environment.",
};

function where(g: AccessGrantViewFragment): string {
  const t = g.share?.target;
  if (!t || t.__typename === "EnvironmentsRoot") return "all environments";
  return t.__typename === "EnvironmentGroup" ? `group ${t.name}` : `environment ${t.name}`;
}

function Grants({ grants }: { grants: AccessGrantViewFragment[] }) {
  return (
    <ul className="grants">
      {grants.map((g, i) => (
        <li key={i}><strong>{g.role?.name ?? "role"}</strong> on {where(g)}: <span className="muted">{g.policies.join(", ")}</span></li>
      ))}
    </ul>
  );
}

export function Explain({ member, environment, onClose }: {
  member: { id: string; email: string }; environment: { id: string; name: string }; onClose: () => void;
}) {
  const [{ data, fetching, error }] = useQuery({ query: ExplainQuery, variables: { memberId: member.id, environmentId: environment.id } });
  const x = data?.explainAccess;
  return (
    <Dialog title={`Why: ${member.email} on ${environment.name}`} onClose={onClose}>
      <QueryError error={error} />
      {fetching && !x && <Loading what="the explanation" />}
      {x && (
        <div className="stack explain">
          <p>Access comes from <strong>{LEVELS[x.level]}</strong>
            {x.level === "NONE" ? "." : ` (the most specific level wins).`}</p>
          {x.reason && <p className="alert">{REASONS[x.reason]}</p>}
          <p aria-label="Allowed">Allowed: {x.policies.length ? x.policies.map((p) => <code key={p}>{p}</code>).reduce((a, b) => <>{a} {b}</>) : "nothing"}</p>
          {x.grants.length > 0 && <><h3>Counted</h3><Grants grants={x.grants} /></>}
          {x.outranked.length > 0 && <><h3>Outranked by a more specific level</h3><Grants grants={x.outranked} /></>}
          <p aria-label="Not allowed">Not allowed: <span className="muted">
            {data!.policies.map((p) => p.code).filter((c) => !x.policies.includes(c)).join(", ") || "nothing"}</span></p>
        </div>
      )}
    </Dialog>
  );
}
