// Start, stop, restart, clone and delete one environment, and how its last action went.
// The platform does the work in the background: a mutation answers at once with a PENDING
// operation, and the card asks for the environment every second until the operation has
// ended, then the screen refetches (its list, statuses and live events follow).
import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { EnvironmentStateFragment } from "../gql/graphql";
import { Dialog, Field, otherErrors, type Errors } from "../ui";

graphql(`
  fragment EnvironmentState on Environment {
    id name status busy
    lastOperation { id action status error { code message } createdAt finishedAt }
  }
`);
const StateQuery = graphql(`query EnvironmentState($id: ID!) { environment(id: $id) { ...EnvironmentState } }`);
const Start = graphql(`mutation StartEnvironment($id: ID!) { startEnvironment(id: $id) { environment { ...EnvironmentState } errors { code message field } } }`);
const Stop = graphql(`mutation StopEnvironment($id: ID!) { stopEnvironment(id: $id) { environment { ...EnvironmentState } errors { code message field } } }`);
const Restart = graphql(`mutation RestartNodes($id: ID!) { restartNodes(id: $id) { environment { ...EnvironmentState } errors { code message field } } }`);
const Delete = graphql(`mutation DeleteEnvironment($id: ID!) { deleteEnvironment(id: $id) { environment { ...EnvironmentState } errors { code message field } } }`);
const Clone = graphql(`mutation CloneEnvironment($id: ID!, $name: String!) { cloneEnvironment(id: $id, name: $name) { environment { ...EnvironmentState } errors { code message field } } }`);

type State = EnvironmentStateFragment;
type Operation = NonNullable<State["lastOperation"]>;

/** The actions, their policy codes (domain/policies.py) and the statuses they make sense in. */
const ACTIONS = [
  { policy: "env.start", label: "Start", when: ["STOPPED"] },
  { policy: "env.stop", label: "Stop", when: ["RUNNING"] },
  { policy: "nodes.restart", label: "Restart nodes", when: ["RUNNING"] },
  { policy: "env.clone", label: "Clone", when: ["RUNNING", "STOPPED"] },
  { policy: "env.delete", label: "Delete", when: ["RUNNING", "STOPPED"] },
] as const;

const NAMES: Record<string, string> = {
  "env.start": "Start", "env.stop": "Stop", "nodes.restart": "Restart nodes",
  "env.clone": "Clone", "env.delete": "Delete", "env.create": "Create",
};
// The platform's own words follow; an outage's message already says what happened.
const WHY_FAILED: Record<string, string> = { PLATFORM_REFUSED: "the platform refused" };
const NO_REASON: Record<string, string> = { PLATFORM_UNAVAILABLE: "the platform did not answer" };
const RANK: Record<Operation["status"], number> = { PENDING: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2 };
const POLL_OPEN_MS = 1000;
const POLL_BUSY_MS = 5000; // busy without an operation of ours: the platform's own transition

export function isOpen(op?: Operation | null): boolean {
  return op?.status === "PENDING" || op?.status === "RUNNING";
}

/** Of the screen's copy and the card's own fresher answers, the one further along. */
function latest(listed: State, fresh: State | null | undefined): State {
  const a = listed.lastOperation, b = fresh?.lastOperation;
  if (!fresh || !b) return listed;
  if (!a) return fresh;
  if (a.id !== b.id) return Date.parse(b.createdAt) > Date.parse(a.createdAt) ? fresh : listed;
  return RANK[b.status] > RANK[a.status] ? fresh : listed;
}

/** The environment every `ms` while `active` (the screen's cache is not asked); undefined
 *  until the first answer. */
function usePolled(id: string | null, active: boolean, ms: number): State | null | undefined {
  const [{ data, error }, poll] = useQuery({
    query: StateQuery, variables: { id: id ?? "" }, pause: !id || !active, requestPolicy: "network-only",
  });
  useEffect(() => {
    if (!id || !active) return;
    const timer = setInterval(() => poll({ requestPolicy: "network-only" }), ms);
    return () => clearInterval(timer);
  }, [id, active, ms, poll]);
  if (!id || error) return null;
  return data?.environment; // null: not (or no longer) visible to the caller
}

/** How an operation stands, in words: "Start: pending", "Stop failed: …". */
export function progressText(op: Operation, subject = ""): string {
  const name = (NAMES[op.action] ?? op.action) + subject;
  switch (op.status) {
    case "PENDING": return `${name}: pending, waiting for the platform…`;
    case "RUNNING": return `${name}: running on the platform…`;
    case "SUCCEEDED": return `${name}: done${op.finishedAt ? ` at ${new Date(op.finishedAt).toLocaleTimeString()}` : ""}`;
    case "FAILED": {
      const why = op.error ? WHY_FAILED[op.error.code] : undefined;
      const message = op.error?.message || NO_REASON[op.error?.code ?? ""] || "no reason given";
      return `${name} failed: ${why ? `${why}: ${message}` : message}`;
    }
  }
}

function Progress({ op, subject }: { op?: Operation | null; subject?: string }) {
  return (
    <p className={`op-progress ${op ? op.status.toLowerCase() : ""}`} role="status" aria-live="polite"
      data-status={op?.status ?? ""}>
      {op ? progressText(op, subject) : ""}
    </p>
  );
}

/** Plain messages, without codes (a refused action stays on its card). */
function Messages({ errors }: { errors: Errors }) {
  if (!errors.length) return null;
  return <p className="field-error" role="alert">{errors.map((e) => e.message).join(" ")}</p>;
}

export function EnvironmentActions({ env, policies, onChange }: {
  env: State; policies: ReadonlySet<string> | "all"; onChange: () => void;
}) {
  const [, start] = useMutation(Start);
  const [, stop] = useMutation(Stop);
  const [, restart] = useMutation(Restart);
  const [, remove] = useMutation(Delete);
  const [, clone] = useMutation(Clone);
  const [fresh, setFresh] = useState<State | null>(null);
  const [copy, setCopy] = useState<State | null>(null);
  const [copyNote, setCopyNote] = useState("");
  const [errors, setErrors] = useState<Errors>([]);
  const [sending, setSending] = useState(false);
  const [asking, setAsking] = useState<"clone" | "delete" | null>(null);

  const current = latest(env, fresh);
  const open = isOpen(current.lastOperation);
  const self = usePolled(env.id, open || current.busy, open ? POLL_OPEN_MS : POLL_BUSY_MS);
  const copyPolled = usePolled(copy?.id ?? null, isOpen(copy?.lastOperation), POLL_OPEN_MS);

  // A poll answer is newer than what the card had, unless the card's operation is newer.
  useEffect(() => { if (self) setFresh((was) => (was ? latest(self, was) : self)); }, [self]);
  useEffect(() => {
    if (copyPolled) setCopy((was) => (was ? latest(copyPolled, was) : copyPolled));
    else if (copyPolled === null && copy) { // the copy is not shared with the caller
      setCopyNote(`Clone → ${copy.name}: requested (the copy is not shared with you)`);
      setCopy(null);
    }
  }, [copyPolled, copy]);

  // When an operation ends, the screen refetches: statuses, lists, a deleted one gone.
  const wasOpen = useRef(open);
  const copyOpen = isOpen(copy?.lastOperation);
  const copyWasOpen = useRef(copyOpen);
  useEffect(() => {
    if ((wasOpen.current && !open) || (copyWasOpen.current && !copyOpen)) onChange();
    wasOpen.current = open;
    copyWasOpen.current = copyOpen;
  }, [open, copyOpen, onChange]);

  const busy = sending || current.busy || open;
  async function run(policy: string) {
    if (policy === "env.clone") return setAsking("clone");
    if (policy === "env.delete") return setAsking("delete");
    const mutation = { "env.start": start, "env.stop": stop, "nodes.restart": restart }[policy]!;
    await act(() => mutation({ id: env.id }));
  }
  /** Sends one action; its refusal (a typed error) is the returned payload's `errors`. */
  async function send(call: () => Promise<{ data?: object | null; error?: { message: string } }>) {
    setSending(true);
    try {
      const result = await call();
      const payload = Object.values(result.data ?? {})[0] as { environment?: State | null; errors: Errors } | undefined;
      return payload ?? { environment: null, errors: [{
        code: "VALIDATION", message: result.error?.message.replace("[GraphQL] ", "") ?? "No answer from the server", field: null,
      }] };
    } finally {
      setSending(false);
    }
  }
  async function act(call: () => Promise<{ data?: object | null; error?: { message: string } }>) {
    const payload = await send(call);
    setErrors(payload.errors);
    if (payload.environment && !payload.errors.length) setFresh(payload.environment);
  }

  return (
    <div className="env-actions">
      <div className="actions" role="toolbar" aria-label={`Actions on ${env.name}`}>
        {ACTIONS.map((a) => {
          const allowed = policies === "all" || policies.has(a.policy);
          const sensible = (a.when as readonly string[]).includes(current.status);
          const why = !allowed ? `Your roles here do not include ${a.policy}`
            : busy ? "Wait until the current action has ended"
            : !sensible ? (current.status === "DELETED" ? "The environment is deleted" : `Not while ${current.status.toLowerCase()}`)
            : "";
          return (
            <button key={a.policy} type="button" className={a.policy === "env.delete" ? "danger small" : "secondary small"}
              disabled={!!why} title={why || undefined} onClick={() => run(a.policy)}>{a.label}</button>
          );
        })}
      </div>
      <Progress op={current.lastOperation} />
      {copy && <Progress op={copy.lastOperation} subject={` → ${copy.name}`} />}
      {copyNote && !copy && <p className="op-progress" role="status">{copyNote}</p>}
      <Messages errors={errors} />
      {asking === "clone" && (
        <CloneDialog name={env.name} onClose={() => setAsking(null)} onClone={async (name) => {
          const payload = await send(() => clone({ id: env.id, name }));
          if (!payload.errors.length) {
            setCopy(payload.environment ?? null);
            setCopyNote("");
            setErrors([]);
            onChange();
          }
          return payload.errors; // beside the name, in the dialog
        }} />
      )}
      {asking === "delete" && (
        <Dialog title={`Delete ${env.name}?`} onClose={() => setAsking(null)}>
          <p>The platform deletes {env.name} and everything in it. This cannot be undone.</p>
          <div className="actions">
            <button type="button" className="danger" onClick={async () => {
              setAsking(null);
              await act(() => remove({ id: env.id }));
            }}>Delete</button>
            <button type="button" className="secondary" onClick={() => setAsking(null)}>Cancel</button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

function CloneDialog({ name, onClose, onClone }: {
  name: string; onClose: () => void; onClone: (name: string) => Promise<Errors>;
}) {
  const [errors, setErrors] = useState<Errors>([]);
  return (
    <Dialog title={`Clone ${name}`} onClose={onClose}>
      <form className="stack" onSubmit={async (e) => {
        e.preventDefault();
        const errs = await onClone(String(new FormData(e.currentTarget).get("name")));
        setErrors(errs);
        if (!errs.length) onClose();
      }}>
        <Messages errors={otherErrors(errors, ["name"])} />
        <Field label="Name of the copy" name="name" errors={errors} hint="3–40 of a–z, 0–9 and -">
          {(a) => <input {...a} defaultValue={`${name}-copy`} required />}
        </Field>
        <button className="primary" type="submit">Clone</button>
      </form>
    </Dialog>
  );
}
