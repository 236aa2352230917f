// Invite or edit a member: shared items picked on the group tree, roles and end date each.
import { useState } from "react";
import { useMutation } from "urql";
import { graphql } from "../../gql";
import type { AccountRole, MemberRowFragment, ShareInput, SharePickerFragment } from "../../gql/graphql";
import { Dialog, FieldError, FormErrors, Field, errorsFor, type Errors } from "../../ui";
import { flatten, type TreeNode } from "./tree";

graphql(`fragment PickGroup on EnvironmentGroup { id name environments { id name displayName } }`);
graphql(`
  fragment SharePicker on Query {
    roles { id name builtIn }
    environments { id name displayName groups { id } }
    environmentGroups {
      ...PickGroup
      children { ...PickGroup children { ...PickGroup children { ...PickGroup children { ...PickGroup } } } }
    }
  }
`);

const Invite = graphql(`
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) { member { id } errors { code message field } }
  }
`);
const Update = graphql(`
  mutation UpdateMember($id: ID!, $input: UpdateMemberInput!) {
    updateMember(id: $id, input: $input) { member { id } errors { code message field } }
  }
`);

type Pick = { key: string; label: string; target: Pick_Target; roleIds: string[]; until: string };
type Pick_Target = { root: true } | { groupId: string } | { environmentId: string };
type Env = { id: string; name: string; displayName: string };

function fromMember(member?: MemberRowFragment): Map<string, Pick> {
  const picks = new Map<string, Pick>();
  for (const s of member?.shares ?? []) {
    const t = s.target;
    const roleIds = s.roles.map((r) => r.id);
    const until = s.expiresAt ? s.expiresAt.slice(0, 10) : "";
    if (!t || t.__typename === "EnvironmentsRoot") picks.set("root", { key: "root", label: "All environments", target: { root: true }, roleIds, until });
    else if (t.__typename === "EnvironmentGroup") picks.set(`g:${t.id}`, { key: `g:${t.id}`, label: `Group ${t.name}`, target: { groupId: t.id }, roleIds, until });
    else picks.set(`e:${t.id}`, { key: `e:${t.id}`, label: `Environment ${t.name}`, target: { environmentId: t.id }, roleIds, until });
  }
  return picks;
}

export function MemberDialog({ picker, member, onClose, onDone }: {
  picker: SharePickerFragment; member?: MemberRowFragment; onClose: () => void; onDone: () => void;
}) {
  const [picks, setPicks] = useState(() => fromMember(member));
  const [errors, setErrors] = useState<Errors>([]);
  const [, invite] = useMutation(Invite);
  const [, update] = useMutation(Update);
  const viewer = picker.roles.find((r) => r.name === "Viewer")?.id;
  const order = [...picks.values()];

  function toggle(key: string, label: string, target: Pick_Target) {
    const next = new Map(picks);
    if (next.has(key)) next.delete(key);
    else next.set(key, { key, label, target, roleIds: viewer ? [viewer] : [], until: "" });
    setPicks(next);
  }
  function change(key: string, patch: Partial<Pick>) {
    const next = new Map(picks);
    next.set(key, { ...next.get(key)!, ...patch });
    setPicks(next);
  }

  async function submit(form: FormData) {
    const shares: ShareInput[] = order.map((p) => ({
      ...p.target, roleIds: p.roleIds,
      // An end date means "until the end of that day", in the browser's time zone.
      expiresAt: p.until ? new Date(`${p.until}T23:59:59`).toISOString() : null,
    }));
    const displayName = String(form.get("displayName") ?? "");
    const accountRole = String(form.get("accountRole")) as AccountRole;
    const result = member
      ? (await update({ id: member.id, input: { displayName, accountRole, shares } })).data?.updateMember
      : (await invite({ input: { email: String(form.get("email")), displayName: displayName || null, accountRole, shares } })).data?.inviteMember;
    const errs = result?.errors ?? [{ code: "VALIDATION" as const, message: "The server did not answer.", field: null }];
    setErrors(errs);
    if (result && !errs.length) { onDone(); onClose(); }
  }

  const tree = flatten(picker.environmentGroups as TreeNode<Env>[]);
  const grouped = new Set(picker.environments.filter((e) => e.groups.length).map((e) => e.id));
  const loose = picker.environments.filter((e) => !grouped.has(e.id));
  const known = ["email", "displayName", "accountRole"];
  const formErrors = errors.filter((e) => !e.field || (!known.includes(e.field) && !/^shares\[\d+\]/.test(e.field)));

  const item = (key: string, label: string, target: Pick_Target, depth: number, at: string) => (
    <li key={`${key}@${at}`} style={{ paddingLeft: `${depth * 1.25}rem` }}>
      <label><input type="checkbox" checked={picks.has(key)} onChange={() => toggle(key, label, target)} /> {label.replace(/^(Group|Environment) /, "")}
        {key.startsWith("g:") && <span className="muted"> (group)</span>}</label>
    </li>
  );

  return (
    <Dialog title={member ? `Edit ${member.email}` : "Invite a collaborator"} onClose={onClose} wide>
      <form className="stack" noValidate onSubmit={(e) => { e.preventDefault(); submit(new FormData(e.currentTarget)); }}>
        <FormErrors errors={formErrors} />
        <div className="two">
          <Field label="Email" name="email" errors={errors}>
            {(a) => <input {...a} type="email" required defaultValue={member?.email} disabled={!!member} />}
          </Field>
          <Field label="Display name" name="displayName" errors={errors} hint="Shown to you only">
            {(a) => <input {...a} defaultValue={member?.displayName ?? ""} />}
          </Field>
        </div>
        <Field label="Account role" name="accountRole" errors={errors}>
          {(a) => (
            <select {...a} defaultValue={member?.accountRole ?? "VIEWER"}>
              <option value="VIEWER">Viewer: sees what is shared</option>
              <option value="ADMIN">Admin: may also create environments</option>
            </select>
          )}
        </Field>
        <fieldset>
          <legend>Shared items</legend>
          <ul className="picker" aria-label="Environment groups and environments">
            {item("root", "All environments", { root: true }, 0, "root")}
            {tree.map(({ node, depth }) => [
              item(`g:${node.id}`, `Group ${node.name}`, { groupId: node.id }, depth + 1, node.id),
              ...node.environments.map((e) => item(`e:${e.id}`, `Environment ${e.name}`, { environmentId: e.id }, depth + 2, node.id)),
            ])}
            {loose.map((e) => item(`e:${e.id}`, `Environment ${e.name}`, { environmentId: e.id }, 1, "loose"))}
          </ul>
        </fieldset>
        {order.length > 0 && (
          <div className="picked">
            {order.map((p, i) => (
              <fieldset key={p.key} className="share-row">
                <legend>{p.label}</legend>
                <div className="roles-pick" role="group" aria-label={`Roles on ${p.label}`}>
                  {picker.roles.map((r) => (
                    <label key={r.id} className="chip-check">
                      <input type="checkbox" checked={p.roleIds.includes(r.id)}
                        onChange={(e) => change(p.key, { roleIds: e.target.checked ? [...p.roleIds, r.id] : p.roleIds.filter((x) => x !== r.id) })} />
                      {r.name}
                    </label>
                  ))}
                </div>
                <FieldError errors={errorsFor(errors, `shares[${i}].roleIds`)} field={`shares[${i}].roleIds`} id={`share-${i}-roles-error`} />
                <label className="inline">Ends on <span className="muted">(optional)</span>{" "}
                  <input type="date" value={p.until} onChange={(e) => change(p.key, { until: e.target.value })} aria-label={`End date for ${p.label}`} />
                </label>
                {errors.filter((e) => e.field?.startsWith(`shares[${i}]`) && e.field !== `shares[${i}].roleIds`).map((e, j) => (
                  <p key={j} className="field-error" role="alert">{e.message}</p>
                ))}
              </fieldset>
            ))}
          </div>
        )}
        <div className="actions">
          <button className="primary" type="submit">{member ? "Save" : "Send invitation"}</button>
          <button className="secondary" type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
