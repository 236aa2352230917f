// The group tree (create, rename, move, delete when empty, add/remove environments) and
// each environment's collaborators, direct and inherited, with a "why?" beside each.
import { useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { graphql } from "../../gql";
import type { GroupNodeFragment, OwnedEnvironmentFragment } from "../../gql/graphql";
import { Badge, Dialog, Empty, Field, FormErrors, Loading, QueryError, otherErrors, payloadOf, type Errors } from "../../ui";
import { EnvironmentActions } from "../EnvironmentActions";
import { Explain } from "./Explain";
import { descendants, flatten, type TreeNode } from "./tree";

graphql(`fragment GroupNode on EnvironmentGroup { id name environments { id name } }`);
graphql(`
  fragment OwnedEnvironment on Environment {
    id name displayName status groups { id name } ...EnvironmentState
    collaborators { member { id email displayName status } roles { id name } inherited level policies }
  }
`);
const EnvironmentsScreen = graphql(`
  query EnvironmentsScreen {
    environmentGroups {
      ...GroupNode
      children { ...GroupNode children { ...GroupNode children { ...GroupNode children { ...GroupNode } } } }
    }
    environments { ...OwnedEnvironment }
    members(status: [ACTIVE, PENDING, SUSPENDED, TRIAL_EXPIRED]) { id email displayName status }
  }
`);

const CreateGroup = graphql(`mutation CreateGroup($name: String!, $parentId: ID) { createEnvironmentGroup(name: $name, parentId: $parentId) { environmentGroup { id } errors { code message field } } }`);
const RenameGroup = graphql(`mutation RenameGroup($id: ID!, $name: String!) { renameEnvironmentGroup(id: $id, name: $name) { environmentGroup { id name } errors { code message field } } }`);
const MoveGroup = graphql(`mutation MoveGroup($id: ID!, $parentId: ID) { moveEnvironmentGroup(id: $id, parentId: $parentId) { environmentGroup { id } errors { code message field } } }`);
const DeleteGroup = graphql(`mutation DeleteGroup($id: ID!) { deleteEnvironmentGroup(id: $id) { environmentGroup { id } errors { code message field } } }`);
const AddToGroup = graphql(`mutation AddToGroup($environmentId: ID!, $groupId: ID!) { addEnvironmentToGroup(environmentId: $environmentId, groupId: $groupId) { environment { id } errors { code message field } } }`);
const RemoveFromGroup = graphql(`mutation RemoveFromGroup($environmentId: ID!, $groupId: ID!) { removeEnvironmentFromGroup(environmentId: $environmentId, groupId: $groupId) { environment { id } errors { code message field } } }`);
const CreateEnvironment = graphql(`mutation CreateEnvironment($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } errors { code message field } } }`);

// An operation ending (anyone's: a collaborator's too) is one of the owner's live events.
const Changed = graphql(`subscription OwnerEnvironmentsChanged { sharedWithMeChanged { reason } }`);

type Group = TreeNode<{ id: string; name: string }> & GroupNodeFragment;
type Member = { id: string; email: string; displayName?: string | null };
type Open =
  | { kind: "group"; parentId: string | null }
  | { kind: "rename"; group: Group }
  | { kind: "move"; group: Group }
  | { kind: "env" }
  | { kind: "why"; member: Member; env: OwnedEnvironmentFragment };

export function Environments() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: EnvironmentsScreen });
  useSubscription({ query: Changed }, (_, event) => {
    if (event.sharedWithMeChanged?.reason === "environment.operation") refetch({ requestPolicy: "network-only" });
    return event;
  });
  const [open, setOpen] = useState<Open | null>(null);
  const [errors, setErrors] = useState<Errors>([]);
  const [, del] = useMutation(DeleteGroup);
  const [, remove] = useMutation(RemoveFromGroup);
  const [, move] = useMutation(MoveGroup);
  // Drag a group onto another (or onto "Top level") to move it; the menu's "Move…" does
  // the same from the keyboard.
  const [dragging, setDragging] = useState<Group | null>(null);
  const [over, setOver] = useState<string | null>(null);
  const blocked = dragging ? descendants(dragging) : new Set<string>();
  const dropTarget = (parentId: string | null) => ({
    onDragOver: (e: React.DragEvent) => {
      if (!dragging || (parentId && blocked.has(parentId))) return;
      e.preventDefault();
      setOver(parentId ?? "top");
    },
    onDragLeave: () => setOver(null),
    onDrop: (e: React.DragEvent) => {
      e.preventDefault();
      const group = dragging;
      setDragging(null);
      setOver(null);
      if (group) run(move({ id: group.id, parentId }));
    },
  });
  const reload = () => refetch({ requestPolicy: "network-only" });
  const roots = (data?.environmentGroups ?? []) as Group[];
  const rows = flatten(roots);
  const close = () => setOpen(null);

  async function run(p: Promise<{ data?: object }>) {
    const r = await p;
    const payload = payloadOf(r);
    setErrors(payload?.errors ?? []);
    reload();
  }

  return (
    <div className="split">
      <section className="card" aria-labelledby="tree-heading">
        <header className="section-head">
          <h2 id="tree-heading">Group tree</h2>
          <button className="primary small" onClick={() => setOpen({ kind: "group", parentId: null })}>New group</button>
        </header>
        <FormErrors errors={errors} />
        {fetching && !data && <Loading what="groups" />}
        {data && rows.length === 0 && <Empty>No groups yet. Groups let you share many environments at once.</Empty>}
        <ul className="tree" role="tree" aria-label="Environment groups">
          {rows.map(({ node, depth }) => {
            const g = node as Group;
            const empty = !g.environments.length && !g.children?.length;
            return (
              <li key={g.id} role="treeitem" aria-level={depth + 1} aria-label={g.name} style={{ paddingLeft: `${depth * 1.25}rem` }}
                draggable className={over === g.id ? "drop-over" : undefined}
                onDragStart={(e) => { e.stopPropagation(); e.dataTransfer.setData("text/plain", g.name); setDragging(g); }}
                onDragEnd={() => { setDragging(null); setOver(null); }} {...dropTarget(g.id)}>
                <div className="tree-row">
                  <strong>{g.name}</strong>
                  <details className="menu">
                    <summary aria-label={`Actions for group ${g.name}`}>⋯</summary>
                    <div className="menu-items" onClick={(e) => { e.currentTarget.closest("details")!.open = false; }}>
                      <button onClick={() => setOpen({ kind: "group", parentId: g.id })}>Add subgroup</button>
                      <button onClick={() => setOpen({ kind: "rename", group: g })}>Rename</button>
                      <button onClick={() => setOpen({ kind: "move", group: g })}>Move…</button>
                      <button disabled={!empty} title={empty ? "" : "Only an empty group can be deleted"}
                        onClick={() => run(del({ id: g.id }))}>Delete</button>
                    </div>
                  </details>
                </div>
                <ul className="chips">
                  {g.environments.map((e) => (
                    <li key={e.id} className="chip">{e.name}
                      <button className="icon" aria-label={`Remove ${e.name} from ${g.name}`}
                        onClick={() => run(remove({ environmentId: e.id, groupId: g.id }))}>✕</button>
                    </li>
                  ))}
                </ul>
              </li>
            );
          })}
        </ul>
        {dragging && (
          <div className={`drop-zone${over === "top" ? " drop-over" : ""}`} {...dropTarget(null)}>
            Drop here to move {dragging.name} to the top level
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="envs-heading">
        <header className="section-head">
          <h2 id="envs-heading">Environments</h2>
          <button className="primary small" onClick={() => setOpen({ kind: "env" })}>New environment</button>
        </header>
        <QueryError error={error} />
        {data && data.environments.length === 0 && <Empty>No environments yet.</Empty>}
        <ul className="rows">
          {data?.environments.map((env) => (
            <EnvironmentItem key={env.id} env={env} groups={rows.map((r) => r.node as Group)} members={data.members}
              onWhy={(member) => setOpen({ kind: "why", member, env })} onChange={reload} />
          ))}
        </ul>
      </section>
      {open?.kind === "group" && <GroupNameDialog title="New group" parentId={open.parentId} groups={rows.map((r) => r.node as Group)} onClose={close} onDone={reload} />}
      {open?.kind === "rename" && <GroupNameDialog title={`Rename ${open.group.name}`} group={open.group} onClose={close} onDone={reload} />}
      {open?.kind === "move" && <MoveDialog group={open.group} groups={rows.map((r) => r.node as Group)} onClose={close} onDone={reload} />}
      {open?.kind === "env" && <NewEnvironmentDialog groups={rows.map((r) => r.node as Group)} onClose={close} onDone={reload} />}
      {open?.kind === "why" && <Explain member={open.member} environment={open.env} onClose={close} />}
    </div>
  );
}

function EnvironmentItem({ env, groups, members, onWhy, onChange }: {
  env: OwnedEnvironmentFragment; groups: Group[]; members: Member[]; onWhy: (m: Member) => void; onChange: () => void;
}) {
  const [, add] = useMutation(AddToGroup);
  const [errors, setErrors] = useState<Errors>([]);
  const inGroups = new Set(env.groups.map((g) => g.id));
  const others = groups.filter((g) => !inGroups.has(g.id));
  const withAccess = new Set(env.collaborators.map((c) => c.member.id));
  return (
    <li className="row env-owner" aria-label={`Environment ${env.name}`}>
      <div className="grow">
        <div><strong>{env.displayName || env.name}</strong> {env.displayName && env.displayName !== env.name && <code>{env.name}</code>} <Badge value={env.status} /></div>
        <EnvironmentActions env={env} policies="all" onChange={onChange} />
        <p className="muted small-print">Groups: {env.groups.map((g) => g.name).join(", ") || "none"}</p>
        {others.length > 0 && (
          <label className="inline">Add to group{" "}
            <select value="" aria-label={`Add ${env.name} to group`} onChange={async (e) => {
              const r = await add({ environmentId: env.id, groupId: e.target.value });
              setErrors(r.data?.addEnvironmentToGroup.errors ?? []);
              onChange();
            }}>
              <option value="" disabled>Choose…</option>
              {others.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
            </select>
          </label>
        )}
        <FormErrors errors={errors} />
        <h3 className="small-head">Collaborators</h3>
        {env.collaborators.length === 0 ? <p className="muted">Nobody but you.</p> : (
          <table className="collab">
            <thead><tr><th scope="col">Member</th><th scope="col">Roles</th><th scope="col">Access</th><th scope="col"><span className="sr-only">Explain</span></th></tr></thead>
            <tbody>
              {env.collaborators.map((c) => (
                <tr key={c.member.id}>
                  <td>{c.member.displayName || c.member.email} <Badge value={c.member.status} /></td>
                  <td>{c.roles.map((r) => r.name).join(", ")}</td>
                  <td>{c.inherited ? `inherited (${c.level.toLowerCase()})` : "direct"}</td>
                  <td><button className="link" onClick={() => onWhy(c.member)} aria-label={`Why does ${c.member.email} have this access to ${env.name}?`}>why?</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {members.some((m) => !withAccess.has(m.id)) && (
          <label className="inline">Why not…{" "}
            <select value="" aria-label={`Explain a member's access to ${env.name}`}
              onChange={(e) => { const m = members.find((x) => x.id === e.target.value); if (m) onWhy(m); }}>
              <option value="" disabled>Choose a member</option>
              {members.filter((m) => !withAccess.has(m.id)).map((m) => <option key={m.id} value={m.id}>{m.displayName || m.email}</option>)}
            </select>
          </label>
        )}
      </div>
    </li>
  );
}

function GroupNameDialog({ title, group, parentId, groups, onClose, onDone }: {
  title: string; group?: Group; parentId?: string | null; groups?: Group[]; onClose: () => void; onDone: () => void;
}) {
  const [, create] = useMutation(CreateGroup);
  const [, rename] = useMutation(RenameGroup);
  const [errors, setErrors] = useState<Errors>([]);
  return (
    <Dialog title={title} onClose={onClose}>
      <form className="stack" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const name = String(f.get("name"));
        const r = group
          ? (await rename({ id: group.id, name })).data?.renameEnvironmentGroup
          : (await create({ name, parentId: String(f.get("parentId") || "") || null })).data?.createEnvironmentGroup;
        setErrors(r?.errors ?? []);
        if (r && !r.errors.length) { onDone(); onClose(); }
      }}>
        <FormErrors errors={otherErrors(errors, ["name", "parentId"])} />
        <Field label="Name" name="name" errors={errors}>{(a) => <input {...a} defaultValue={group?.name} required />}</Field>
        {!group && (
          <Field label="Inside" name="parentId" errors={errors}>
            {(a) => (
              <select {...a} defaultValue={parentId ?? ""}>
                <option value="">Top level</option>
                {groups?.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
              </select>
            )}
          </Field>
        )}
        <button className="primary" type="submit">{group ? "Rename" : "Create group"}</button>
      </form>
    </Dialog>
  );
}

function MoveDialog({ group, groups, onClose, onDone }: { group: Group; groups: Group[]; onClose: () => void; onDone: () => void }) {
  const [, move] = useMutation(MoveGroup);
  const [errors, setErrors] = useState<Errors>([]);
  const below = descendants(group);
  return (
    <Dialog title={`Move ${group.name}`} onClose={onClose}>
      <form className="stack" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const parentId = String(new FormData(e.currentTarget).get("parentId") || "") || null;
        const r = (await move({ id: group.id, parentId })).data?.moveEnvironmentGroup;
        setErrors(r?.errors ?? []);
        if (r && !r.errors.length) { onDone(); onClose(); }
      }}>
        <FormErrors errors={otherErrors(errors, ["parentId"])} />
        <Field label="Move into" name="parentId" errors={errors}>
          {(a) => (
            <select {...a} defaultValue="">
              <option value="">Top level</option>
              {groups.filter((g) => !below.has(g.id)).map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
            </select>
          )}
        </Field>
        <button className="primary" type="submit">Move</button>
      </form>
    </Dialog>
  );
}

function NewEnvironmentDialog({ groups, onClose, onDone }: { groups: Group[]; onClose: () => void; onDone: () => void }) {
  const [, create] = useMutation(CreateEnvironment);
  const [errors, setErrors] = useState<Errors>([]);
  return (
    <Dialog title="New environment" onClose={onClose}>
      <form className="stack" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const r = (await create({ input: {
          name: String(f.get("name")), displayName: String(f.get("displayName") || "") || null,
          groupId: String(f.get("groupId") || "") || null,
        } })).data?.createEnvironment;
        setErrors(r?.errors ?? []);
        if (r && !r.errors.length) { onDone(); onClose(); }
      }}>
        <FormErrors errors={otherErrors(errors, ["name", "displayName", "groupId"])} />
        <Field label="Name" name="name" errors={errors} hint="3–40 of a–z, 0–9 and -">{(a) => <input {...a} required />}</Field>
        <Field label="Display name" name="displayName" errors={errors}>{(a) => <input {...a} />}</Field>
        <Field label="Group" name="groupId" errors={errors}>
          {(a) => (
            <select {...a} defaultValue="">
              <option value="">No group</option>
              {groups.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
            </select>
          )}
        </Field>
        <button className="primary" type="submit">Create environment</button>
      </form>
    </Dialog>
  );
}
