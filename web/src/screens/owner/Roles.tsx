// Roles: built-in (read-only) and custom ones, edited from the grouped, searchable catalogue.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../../gql";
import type { PolicyChoiceFragment, RoleCardFragment } from "../../gql/graphql";
import { Dialog, Field, FormErrors, Loading, QueryError, otherErrors, type Errors } from "../../ui";

graphql(`fragment RoleCard on Role { id name description receiveLoadAlerts builtIn policies { code } }`);
graphql(`fragment PolicyChoice on Policy { code description }`);
const RolesScreen = graphql(`
  query RolesScreen { roles { ...RoleCard } policies { ...PolicyChoice } }
`);
const CreateRole = graphql(`mutation CreateRole($input: RoleInput!) { createRole(input: $input) { role { id } errors { code message field } } }`);
const UpdateRole = graphql(`mutation UpdateRole($id: ID!, $input: RoleInput!) { updateRole(id: $id, input: $input) { role { id } errors { code message field } } }`);
const DeleteRole = graphql(`mutation DeleteRole($id: ID!) { deleteRole(id: $id) { role { id } errors { code message field } } }`);

const AREAS: [string, string][] = [
  ["env.", "Environment"], ["nodes.", "Nodes"], ["deploy.", "Deployment"], ["access.", "Access"],
  ["scaling.", "Scaling"], ["config.", "Configuration"], ["logs.", "Logs and statistics"],
  ["stats.", "Logs and statistics"], ["domains.", "Domains and SSL"], ["ssl.", "Domains and SSL"],
];
const area = (code: string) => AREAS.find(([p]) => code.startsWith(p))?.[1] ?? "Other";

export function Roles() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: RolesScreen });
  const [editing, setEditing] = useState<RoleCardFragment | "new" | null>(null);
  const [errors, setErrors] = useState<Errors>([]);
  const [, del] = useMutation(DeleteRole);
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <section aria-label="Roles">
      <div className="toolbar"><span className="muted">A role is a named set of policies.</span>
        <button className="primary" onClick={() => setEditing("new")} disabled={!data}>New role</button></div>
      <QueryError error={error} />
      <FormErrors errors={errors} />
      {fetching && !data && <Loading what="roles" />}
      <ul className="cards">
        {data?.roles.map((r) => (
          <li key={r.id} className="card role" aria-label={`Role ${r.name}`}>
            <header className="section-head"><h2>{r.name}</h2>{r.builtIn ? <span className="badge muted">built-in</span> : <span className="badge info">custom</span>}</header>
            {r.description && <p className="muted">{r.description}</p>}
            <p className="small-print">{r.policies.map((p) => p.code).join(", ") || "no policies"}{r.receiveLoadAlerts && " · receives load alerts"}</p>
            {!r.builtIn && (
              <div className="actions">
                <button className="secondary small" onClick={() => setEditing(r)}>Edit</button>
                <button className="danger small" onClick={async () => {
                  const res = await del({ id: r.id });
                  setErrors(res.data?.deleteRole.errors ?? []);
                  reload();
                }}>Delete</button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {data && editing && <RoleDialog role={editing === "new" ? undefined : editing} policies={data.policies} onClose={() => setEditing(null)} onDone={reload} />}
    </section>
  );
}

function RoleDialog({ role, policies, onClose, onDone }: { role?: RoleCardFragment; policies: PolicyChoiceFragment[]; onClose: () => void; onDone: () => void }) {
  const [picked, setPicked] = useState(() => new Set(role?.policies.map((p) => p.code) ?? ["env.view"]));
  const [search, setSearch] = useState("");
  const [errors, setErrors] = useState<Errors>([]);
  const [, create] = useMutation(CreateRole);
  const [, update] = useMutation(UpdateRole);
  const q = search.trim().toLowerCase();
  const shown = policies.filter((p) => !q || p.code.includes(q) || p.description.toLowerCase().includes(q));
  const areas = [...new Set(shown.map((p) => area(p.code)))];
  return (
    <Dialog title={role ? `Edit ${role.name}` : "New role"} onClose={onClose} wide>
      <form className="stack" noValidate onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const input = { name: String(f.get("name")), description: String(f.get("description") || ""),
          policies: [...picked], receiveLoadAlerts: f.get("receiveLoadAlerts") === "on" };
        const r = role ? (await update({ id: role.id, input })).data?.updateRole : (await create({ input })).data?.createRole;
        setErrors(r?.errors ?? []);
        if (r && !r.errors.length) { onDone(); onClose(); }
      }}>
        <FormErrors errors={otherErrors(errors, ["name", "description", "policies"])} />
        <Field label="Name" name="name" errors={errors}>{(a) => <input {...a} defaultValue={role?.name} required />}</Field>
        <Field label="Description" name="description" errors={errors}>{(a) => <input {...a} defaultValue={role?.description} />}</Field>
        <label className="inline"><input type="checkbox" name="receiveLoadAlerts" defaultChecked={role?.receiveLoadAlerts} /> Receives load alerts</label>
        <Field label="Search policies" name="policySearch" errors={[]}>
          {(a) => <input {...a} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="e.g. ssh, logs, deploy" />}
        </Field>
        <Field label="" name="policies" errors={errors}>{() => null}</Field>
        <div className="policy-areas">
          {areas.map((name) => (
            <fieldset key={name}>
              <legend>{name}</legend>
              {shown.filter((p) => area(p.code) === name).map((p) => (
                <label key={p.code} className="policy">
                  <input type="checkbox" checked={picked.has(p.code)} onChange={(e) => {
                    const next = new Set(picked);
                    if (e.target.checked) next.add(p.code); else next.delete(p.code);
                    setPicked(next);
                  }} />
                  <span><code>{p.code}</code> {p.description}</span>
                </label>
              ))}
            </fieldset>
          ))}
          {areas.length === 0 && <p className="muted">No policy matches “{search}”.</p>}
        </div>
        <div className="actions"><button className="primary" type="submit">{role ? "Save" : "Create role"}</button>
          <button className="secondary" type="button" onClick={onClose}>Cancel</button></div>
      </form>
    </Dialog>
  );
}
