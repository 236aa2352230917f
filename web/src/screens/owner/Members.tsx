// Members: status badges and filters, invite/edit/copy dialogs, the lifecycle buttons.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../../gql";
import type { MemberRowFragment, MemberStatus, MembersScreenQuery } from "../../gql/graphql";
import { Badge, Dialog, Empty, Field, FormErrors, Loading, QueryError, formatDate, otherErrors, payloadOf, type Errors } from "../../ui";
import { MemberDialog } from "./MemberDialog";

graphql(`
  fragment MemberRow on Member {
    id email displayName accountRole status invitedAt acceptedAt expiresAt account { id }
    shares {
      id expiresAt roles { id name }
      target { __typename ... on Environment { id name } ... on EnvironmentGroup { id name } ... on EnvironmentsRoot { owner { id } } }
    }
  }
`);

const MembersScreen = graphql(`
  query MembersScreen {
    members { ...MemberRow }
    ...SharePicker
  }
`);

const Suspend = graphql(`mutation SuspendMember($id: ID!) { suspendMember(id: $id) { member { id status } errors { code message field } } }`);
const Activate = graphql(`mutation ActivateMember($id: ID!) { activateMember(id: $id) { member { id status } errors { code message field } } }`);
const Remove = graphql(`mutation RemoveMember($id: ID!) { removeMember(id: $id) { member { id status } errors { code message field } } }`);
const Reinvite = graphql(`mutation ReinviteMember($id: ID!) { reinviteMember(id: $id) { member { id status } errors { code message field } } }`);
const Resend = graphql(`mutation ResendInvitation($id: ID!) { resendInvitation(id: $id) { member { id status } errors { code message field } } }`);
const Copy = graphql(`mutation CopyMember($id: ID!, $email: String!, $displayName: String) { copyMember(id: $id, email: $email, displayName: $displayName) { member { id } errors { code message field } } }`);

const FILTERS: { label: string; statuses: MemberStatus[] | null }[] = [
  { label: "All", statuses: null },
  { label: "Active", statuses: ["ACTIVE"] },
  { label: "Pending", statuses: ["PENDING"] },
  { label: "Suspended", statuses: ["SUSPENDED", "TRIAL_EXPIRED"] },
  { label: "Ended", statuses: ["REJECTED", "EXPIRED", "REMOVED", "LEFT"] },
];

type Open = { kind: "invite" } | { kind: "edit"; member: MemberRowFragment } | { kind: "copy"; member: MemberRowFragment };

export function Members() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: MembersScreen });
  const [filter, setFilter] = useState(0);
  const [open, setOpen] = useState<Open | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });
  const members = data?.members ?? [];
  const shown = members.filter((m) => !FILTERS[filter].statuses || FILTERS[filter].statuses!.includes(m.status));
  return (
    <section aria-label="Members">
      <div className="toolbar">
        <div className="chips" role="group" aria-label="Filter by status">
          {FILTERS.map((f, i) => (
            <button key={f.label} className={`chip${i === filter ? " on" : ""}`} aria-pressed={i === filter} onClick={() => setFilter(i)}>
              {f.label} <span className="count">{members.filter((m) => !f.statuses || f.statuses.includes(m.status)).length}</span>
            </button>
          ))}
        </div>
        <button className="primary" onClick={() => setOpen({ kind: "invite" })} disabled={!data}>Invite collaborator</button>
      </div>
      <QueryError error={error} />
      {fetching && !data && <Loading what="members" />}
      {data && members.length === 0 && <Empty>You have not invited anyone yet. Invite a collaborator to share environments.</Empty>}
      {data && members.length > 0 && shown.length === 0 && <Empty>No member has this status.</Empty>}
      <ul className="rows members">
        {shown.map((m) => <MemberItem key={m.id} member={m} onEdit={() => setOpen({ kind: "edit", member: m })}
          onCopy={() => setOpen({ kind: "copy", member: m })} onChange={reload} />)}
      </ul>
      {data && open?.kind === "invite" && <MemberDialog picker={data as MembersScreenQuery} onClose={() => setOpen(null)} onDone={reload} />}
      {data && open?.kind === "edit" && <MemberDialog picker={data as MembersScreenQuery} member={open.member} onClose={() => setOpen(null)} onDone={reload} />}
      {open?.kind === "copy" && <CopyDialog member={open.member} onClose={() => setOpen(null)} onDone={reload} />}
    </section>
  );
}

export function shareLabel(share: MemberRowFragment["shares"][number]): string {
  const t = share.target;
  if (!t || t.__typename === "EnvironmentsRoot") return "All environments";
  if (t.__typename === "EnvironmentGroup") return `Group ${t.name}`;
  return `Environment ${t.name}`;
}

function MemberItem({ member: m, onEdit, onCopy, onChange }: { member: MemberRowFragment; onEdit: () => void; onCopy: () => void; onChange: () => void }) {
  const [, suspend] = useMutation(Suspend);
  const [, activate] = useMutation(Activate);
  const [, remove] = useMutation(Remove);
  const [, reinvite] = useMutation(Reinvite);
  const [, resend] = useMutation(Resend);
  const [errors, setErrors] = useState<Errors>([]);
  const [note, setNote] = useState("");
  async function run(label: string, p: Promise<{ data?: object }>) {
    const r = await p;
    const payload = payloadOf(r);
    setErrors(payload?.errors ?? []);
    if (payload && !payload.errors.length) { setNote(`${label}: done`); onChange(); }
  }
  const s = m.status;
  const open = ["PENDING", "ACTIVE", "SUSPENDED", "TRIAL_EXPIRED"].includes(s);
  return (
    <li className="row member" aria-label={`Member ${m.email}`}>
      <div className="grow">
        <div><strong>{m.displayName || m.email}</strong> {m.displayName && <span className="muted">{m.email}</span>} <Badge value={s} />
          {m.accountRole === "ADMIN" && <span className="badge info">admin</span>}</div>
        <ul className="shares">
          {m.shares.length === 0 && <li className="muted">Nothing shared</li>}
          {m.shares.map((sh) => (
            <li key={sh.id}>{shareLabel(sh)}: {sh.roles.map((r) => r.name).join(", ")}
              {sh.expiresAt && <span className="muted"> until {formatDate(sh.expiresAt)}</span>}</li>
          ))}
        </ul>
        <p className="muted small-print">Invited {formatDate(m.invitedAt)}{m.acceptedAt && ` · accepted ${formatDate(m.acceptedAt)}`}
          {m.expiresAt && ` · invitation expires ${formatDate(m.expiresAt)}`}</p>
        <p className="muted" role="status">{note}</p>
        <FormErrors errors={errors} />
      </div>
      <div className="actions" role="toolbar" aria-label={`Actions for ${m.email}`}>
        {open && <button className="secondary small" onClick={onEdit}>Edit</button>}
        <button className="secondary small" onClick={onCopy}>Copy</button>
        {s === "ACTIVE" && <button className="secondary small" onClick={() => run("Suspended", suspend({ id: m.id }))}>Suspend</button>}
        {s === "SUSPENDED" && <button className="secondary small" onClick={() => run("Activated", activate({ id: m.id }))}>Activate</button>}
        {s === "PENDING" && <button className="secondary small" onClick={() => run("Invitation sent again", resend({ id: m.id }))}>Resend</button>}
        {!open && <button className="secondary small" onClick={() => run("Invited again", reinvite({ id: m.id }))}>Re-invite</button>}
        {s !== "REMOVED" && <button className="danger small" onClick={() => confirm(`Remove ${m.email}? Their shares are kept for a re-invite.`) && run("Removed", remove({ id: m.id }))}>Remove</button>}
      </div>
    </li>
  );
}

function CopyDialog({ member, onClose, onDone }: { member: MemberRowFragment; onClose: () => void; onDone: () => void }) {
  const [, copy] = useMutation(Copy);
  const [errors, setErrors] = useState<Errors>([]);
  return (
    <Dialog title={`Copy ${member.email}'s access`} onClose={onClose}>
      <form className="stack" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const r = await copy({ id: member.id, email: String(f.get("email")), displayName: String(f.get("displayName") || "") || null });
        const errs = r.data?.copyMember.errors ?? [];
        setErrors(errs);
        if (r.data && !errs.length) { onDone(); onClose(); }
      }}>
        <p className="muted">Invites a new person with the same account role and shares.</p>
        <FormErrors errors={otherErrors(errors, ["email", "displayName"])} />
        <Field label="Email" name="email" errors={errors}>{(a) => <input {...a} type="email" required />}</Field>
        <Field label="Display name" name="displayName" errors={errors}>{(a) => <input {...a} />}</Field>
        <button className="primary" type="submit">Send invitation</button>
      </form>
    </Dialog>
  );
}
