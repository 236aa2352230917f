// Small shared pieces: typed mutation errors beside their fields, badges, dialogs, states.
import { useEffect, useRef, type ReactNode } from "react";
import type { UserError } from "./gql/graphql";

export type Errors = ReadonlyArray<Pick<UserError, "code" | "message" | "field">>;

/** The errors naming `field` (its last path segment counts: `shares.0.roleIds` → roleIds). */
export function errorsFor(errors: Errors, field: string): Errors {
  return errors.filter((e) => e.field === field || e.field?.split(".").includes(field));
}

/** Errors that name no field this form shows: listed at the top of the form. */
export function otherErrors(errors: Errors, fields: string[]): Errors {
  return errors.filter((e) => !e.field || !fields.some((f) => errorsFor([e], f).length));
}

export function FieldError({ errors, field, id }: { errors: Errors; field: string; id: string }) {
  const mine = errorsFor(errors, field);
  if (!mine.length) return null;
  return (
    <p className="field-error" id={id} role="alert">
      {mine.map((e) => e.message).join(" ")}
    </p>
  );
}

export function FormErrors({ errors }: { errors: Errors }) {
  if (!errors.length) return null;
  return (
    <div className="alert" role="alert">
      {errors.map((e, i) => (
        <p key={i}>
          <strong>{e.code}</strong> {e.message}
        </p>
      ))}
    </div>
  );
}

export function Field(props: {
  label: string; name: string; errors: Errors; children: (attrs: {
    id: string; "aria-invalid": boolean; "aria-describedby"?: string; name: string;
  }) => ReactNode; hint?: string;
}) {
  const id = `f-${props.name}`;
  const invalid = errorsFor(props.errors, props.name).length > 0;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children({ id, name: props.name, "aria-invalid": invalid,
        "aria-describedby": invalid ? `${id}-error` : undefined })}
      {props.hint && <p className="hint">{props.hint}</p>}
      <FieldError errors={props.errors} field={props.name} id={`${id}-error`} />
    </div>
  );
}

const TONES: Record<string, string> = {
  ACTIVE: "ok", RUNNING: "ok", ALLOWED: "ok", PENDING: "info", SUSPENDED: "warn",
  TRIAL_EXPIRED: "warn", STOPPED: "muted", DENIED: "bad", REJECTED: "muted",
  EXPIRED: "muted", REMOVED: "muted", LEFT: "muted", DELETED: "muted",
};

export function Badge({ value }: { value: string }) {
  return <span className={`badge ${TONES[value] ?? "muted"}`}>{value.replace("_", " ").toLowerCase()}</span>;
}

/** A modal <dialog>: focus moves in, Escape closes, focus returns where it was. */
export function Dialog(props: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const before = document.activeElement as HTMLElement | null;
    dialog.showModal();
    return () => before?.focus();
  }, []);
  return (
    <dialog ref={ref} className={props.wide ? "wide" : ""} aria-labelledby="dialog-title"
      onCancel={(e) => { e.preventDefault(); props.onClose(); }}>
      <header className="dialog-head">
        <h2 id="dialog-title">{props.title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={props.onClose}>✕</button>
      </header>
      {props.children}
    </dialog>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="loading" role="status" aria-live="polite">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function QueryError({ error }: { error?: { message: string } }) {
  if (!error) return null;
  return <div className="alert" role="alert">Could not load: {error.message.replace("[GraphQL] ", "")}</div>;
}

export function formatDate(value?: string | null): string {
  if (!value) return "";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A mutation result's payload errors (the one field of `data` that carries `errors`). */
export function payloadOf(result: { data?: object | null; error?: { message: string } }): { errors: Errors } | null {
  const payload = Object.values(result.data ?? {}).find((v) => v && typeof v === "object" && "errors" in v);
  if (payload) return payload as { errors: Errors };
  if (result.error) return { errors: [{ code: "VALIDATION", message: result.error.message.replace("[GraphQL] ", ""), field: null }] };
  return null;
}
