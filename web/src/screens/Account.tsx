// Sign up and log in: the two ways to a session (invitees arrive from the invitation page).
import { useState } from "react";
import { useMutation } from "urql";
import { graphql } from "../gql";
import { Link, usePath } from "../router";
import { Field, FormErrors, otherErrors, type Errors } from "../ui";

const LogIn = graphql(`
  mutation LogIn($email: String!, $password: String!) {
    logIn(email: $email, password: $password) { token errors { code message field } }
  }
`);

const SignUp = graphql(`
  mutation SignUp($email: String!, $password: String!, $displayName: String) {
    signUp(email: $email, password: $password, displayName: $displayName) {
      token errors { code message field }
    }
  }
`);

/** `notice`: why the person is here rather than logged in (a refused sign-in link). */
export function AccountScreen({ onSession, notice = null }: { onSession: (token: string) => void; notice?: string | null }) {
  const signingUp = usePath() === "/signup";
  const [errors, setErrors] = useState<Errors>([]);
  const [{ fetching: loggingIn }, logIn] = useMutation(LogIn);
  const [{ fetching: signing }, signUp] = useMutation(SignUp);
  const email = new URLSearchParams(location.search).get("email") ?? "";

  async function submit(form: FormData) {
    const vars = { email: String(form.get("email")), password: String(form.get("password")) };
    const result = signingUp
      ? (await signUp({ ...vars, displayName: String(form.get("displayName") || "") || null })).data?.signUp
      : (await logIn(vars)).data?.logIn;
    if (!result) return setErrors([{ code: "UNAUTHENTICATED", message: "The server did not answer. Try again.", field: null }]);
    setErrors(result.errors);
    if (result.token && !result.errors.length) onSession(result.token);
  }

  const fields = ["email", "password", "displayName"];
  return (
    <main id="main" className="account">
      <p className="brand"><span aria-hidden="true">◆</span> collab-gateway</p>
      <form className="card stack" noValidate onSubmit={(e) => { e.preventDefault(); submit(new FormData(e.currentTarget)); }}>
        <h1>{signingUp ? "Create your account" : "Log in"}</h1>
        {notice && !errors.length && <div className="alert" role="alert"><p>{notice}</p></div>}
        <FormErrors errors={otherErrors(errors, fields)} />
        <Field label="Email" name="email" errors={errors}>
          {(a) => <input {...a} type="email" autoComplete="username" defaultValue={email} required />}
        </Field>
        {signingUp && (
          <Field label="Your name" name="displayName" errors={errors}>
            {(a) => <input {...a} autoComplete="name" />}
          </Field>
        )}
        <Field label="Password" name="password" errors={errors} hint={signingUp ? "At least 8 characters." : undefined}>
          {(a) => <input {...a} type="password" autoComplete={signingUp ? "new-password" : "current-password"} required />}
        </Field>
        <button className="primary" type="submit" disabled={loggingIn || signing}>
          {signingUp ? "Sign up" : "Log in"}
        </button>
        <p className="muted">
          {signingUp ? <>Have an account? <Link to="/login">Log in</Link></> : <>New here? <Link to="/signup">Create an account</Link></>}
        </p>
      </form>
    </main>
  );
}
