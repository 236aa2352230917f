// "Shared with me": one section per owner, live through sharedWithMeChanged.
import { useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { graphql } from "../gql";
import type { OwnerSectionViewFragment, PendingInvitationFragment, SharedEnvironmentFragment, SharedGroupFragment } from "../gql/graphql";
import { EnvironmentActions } from "./EnvironmentActions";
import { Badge, Dialog, Empty, FormErrors, Loading, QueryError, formatDate, payloadOf, type Errors } from "../ui";

graphql(`
  fragment SharedEnvironment on Environment { id name displayName status myPolicies ...EnvironmentState }
`);
graphql(`
  fragment SharedGroup on EnvironmentGroup { id name environments { id } }
`);
graphql(`
  fragment OwnerSectionView on OwnerSection {
    owner { id displayName email }
    member { id status accountRole }
    canCreateEnvironments
    environments { ...SharedEnvironment }
    groups {
      ...SharedGroup
      children { ...SharedGroup children { ...SharedGroup children { ...SharedGroup children { ...SharedGroup } } } }
    }
  }
`);
graphql(`
  fragment PendingInvitation on Invitation { id email expiresAt owner { id displayName email } }
`);

const SharedWithMeQuery = graphql(`
  query SharedWithMe {
    invitations { ...PendingInvitation }
    sharedWithMe { ...OwnerSectionView }
  }
`);

const Changed = graphql(`
  subscription SharedWithMeChanged { sharedWithMeChanged { reason ownerId at } }
`);

const Accept = graphql(`mutation AcceptInvitation($id: ID!) { acceptInvitation(id: $id) { member { id status } errors { code message field } } }`);
const Reject = graphql(`mutation RejectInvitation($id: ID!) { rejectInvitation(id: $id) { member { id status } errors { code message field } } }`);
const Leave = graphql(`mutation LeaveCollaboration($id: ID!) { leaveCollaboration(memberId: $id) { member { id status } errors { code message field } } }`);

type Tree = SharedGroupFragment & { children?: Tree[] };

export function SharedWithMe({ path }: { path: string; me: { id: string } }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: SharedWithMeQuery });
  const [live, setLive] = useState("");
  useSubscription({ query: Changed }, (_, event) => {
    refetch({ requestPolicy: "network-only" });
    setLive(`Updated ${new Date().toLocaleTimeString()} (${event.sharedWithMeChanged?.reason ?? "change"})`);
    return event;
  });
  const focus = /^\/shared\/[^/]+\/([^/]+)/.exec(path)?.[1];
  useEffect(() => {
    if (focus && data) document.getElementById(`env-${focus}`)?.scrollIntoView({ block: "center" });
  }, [focus, data]);
  const reload = () => refetch({ requestPolicy: "network-only" });

  return (
    <section aria-labelledby="with-heading">
      <h1 id="with-heading">Shared with me</h1>
      <p className="live muted" role="status" aria-live="polite">{live}</p>
      <QueryError error={error} />
      {fetching && !data && <Loading what="what is shared with you" />}
      {data && (
        <>
          {data.invitations.length > 0 && <Invitations invitations={data.invitations} onDone={reload} />}
          {data.sharedWithMe.length === 0 && data.invitations.length === 0 && (
            <Empty>Nobody shares environments with you yet. When an owner invites you, the invitation appears here.</Empty>
          )}
          {data.sharedWithMe.map((section) => (
            <OwnerSection key={section.member.id} section={section} focus={focus} onChange={reload} />
          ))}
        </>
      )}
    </section>
  );
}

function Invitations({ invitations, onDone }: { invitations: PendingInvitationFragment[]; onDone: () => void }) {
  const [, accept] = useMutation(Accept);
  const [, reject] = useMutation(Reject);
  const [errors, setErrors] = useState<Errors>([]);
  const run = async (p: Promise<{ data?: object }>) => {
    setErrors(payloadOf(await p)?.errors ?? []);
    onDone();
  };
  return (
    <section className="card" aria-labelledby="inv-heading">
      <h2 id="inv-heading">Pending invitations</h2>
      <FormErrors errors={errors} />
      <ul className="rows">
        {invitations.map((inv) => (
          <li key={inv.id} className="row">
            <span><strong>{inv.owner.displayName || inv.owner.email}</strong> invited {inv.email}
              {inv.expiresAt && <span className="muted"> · answer before {formatDate(inv.expiresAt)}</span>}</span>
            <span className="actions">
              <button className="primary small" onClick={() => run(accept({ id: inv.id }))}>Accept</button>
              <button className="secondary small" onClick={() => run(reject({ id: inv.id }))}>Reject</button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function OwnerSection({ section, focus, onChange }: { section: OwnerSectionViewFragment; focus?: string; onChange: () => void }) {
  const owner = section.owner.displayName || section.owner.email || "";
  const byId = new Map(section.environments.map((e) => [e.id, e]));
  const inTree = new Set<string>();
  const walk = (g: Tree) => { g.environments.forEach((e) => inTree.add(e.id)); g.children?.forEach(walk); };
  (section.groups as Tree[]).forEach(walk);
  const loose = section.environments.filter((e) => !inTree.has(e.id));
  const [leaving, setLeaving] = useState(false);
  const headingId = `owner-${section.owner.id}`;
  return (
    <section className="card owner-section" aria-labelledby={headingId} data-owner={section.owner.id}>
      <header className="section-head">
        <h2 id={headingId}>Environments owned by {owner}</h2>
        <span className="muted">{section.owner.email} · {section.member.accountRole.toLowerCase()}</span>
        <button className="secondary small" onClick={() => setLeaving(true)}>Leave</button>
      </header>
      {section.environments.length === 0 && <Empty>{owner} has not shared any environment with you yet.</Empty>}
      {(section.groups as Tree[]).map((g) => <GroupBranch key={g.id} group={g} byId={byId} focus={focus} onChange={onChange} />)}
      {loose.length > 0 && (
        <div className="group">
          {section.groups.length > 0 && <h3>Other environments</h3>}
          <EnvironmentList environments={loose} focus={focus} onChange={onChange} />
        </div>
      )}
      {leaving && <LeaveDialog memberId={section.member.id} owner={owner} onClose={() => setLeaving(false)} onDone={onChange} />}
    </section>
  );
}

function GroupBranch({ group, byId, focus, onChange }: { group: Tree; byId: Map<string, SharedEnvironmentFragment>; focus?: string; onChange: () => void }) {
  const environments = group.environments.map((e) => byId.get(e.id)).filter((e): e is SharedEnvironmentFragment => !!e);
  return (
    <div className="group" role="group" aria-label={`Group ${group.name}`}>
      <h3><span aria-hidden="true">▸ </span>{group.name}</h3>
      {environments.length ? <EnvironmentList environments={environments} focus={focus} onChange={onChange} />
        : !group.children?.length && <p className="muted">No environments in this group yet.</p>}
      {group.children?.map((c) => <GroupBranch key={c.id} group={c} byId={byId} focus={focus} onChange={onChange} />)}
    </div>
  );
}

function EnvironmentList({ environments, focus, onChange }: { environments: SharedEnvironmentFragment[]; focus?: string; onChange: () => void }) {
  return (
    <ul className="envs">
      {environments.map((e) => <EnvironmentCard key={e.id} environment={e} focused={focus === e.id} onChange={onChange} />)}
    </ul>
  );
}

function EnvironmentCard({ environment: env, focused, onChange }: { environment: SharedEnvironmentFragment; focused: boolean; onChange: () => void }) {
  return (
    <li id={`env-${env.id}`} className={`env${focused ? " focused" : ""}`} aria-label={`Environment ${env.name}`}>
      <div className="env-head">
        <strong>{env.displayName || env.name}</strong> {env.displayName && env.displayName !== env.name && <code>{env.name}</code>} <Badge value={env.status} />
      </div>
      <EnvironmentActions env={env} policies={new Set(env.myPolicies)} onChange={onChange} />
      <p className="muted small-print">Your policies: {env.myPolicies.join(", ") || "none"}</p>
    </li>
  );
}

function LeaveDialog({ memberId, owner, onClose, onDone }: { memberId: string; owner: string; onClose: () => void; onDone: () => void }) {
  const [, leave] = useMutation(Leave);
  const [errors, setErrors] = useState<Errors>([]);
  return (
    <Dialog title={`Stop collaborating with ${owner}?`} onClose={onClose}>
      <p>You will no longer see {owner}'s environments. {owner} is told that you left.</p>
      <FormErrors errors={errors} />
      <div className="actions">
        <button className="danger" onClick={async () => {
          const r = await leave({ id: memberId });
          const errs = r.data?.leaveCollaboration.errors ?? [];
          setErrors(errs);
          if (!errs.length) { onClose(); onDone(); }
        }}>Leave</button>
        <button className="secondary" onClick={onClose}>Cancel</button>
      </div>
    </Dialog>
  );
}
