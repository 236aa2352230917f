// The shell: session, navigation and which screen the address names.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Provider, useMutation, useQuery } from "urql";
import { makeClient } from "./client";
import { graphql } from "./gql";
import { Link, navigate, usePath } from "./router";
import { AccountScreen } from "./screens/Account";
import { SharedByMe } from "./screens/SharedByMe";
import { SharedWithMe } from "./screens/SharedWithMe";
import { readToken, redeemHandoff, saveToken } from "./session";
import { Loading } from "./ui";

const MeQuery = graphql(`
  query Me { me { id email displayName kind trialEndsAt } }
`);

const LogOutMutation = graphql(`
  mutation LogOut { logOut { ok errors { code message field } } }
`);

/** `handoff`: the invitation page's one-time code, redeemed once before anything shows. */
export function App({ handoff = null }: { handoff?: string | null }) {
  const [token, setToken] = useState(readToken);
  const [pending, setPending] = useState(handoff !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const client = useMemo(() => makeClient(token), [token]);
  const login = useCallback((next: string | null) => {
    saveToken(next);
    setToken(next);
  }, []);
  useEffect(() => {
    if (handoff === null) return;
    redeemHandoff(handoff).then((result) => {
      if ("token" in result) login(result.token);
      else setNotice(result.error);
      setPending(false);
    });
  }, [handoff, login]);
  if (pending) return <Loading what="your account" />;
  return (
    <Provider value={client}>
      {token ? <Shell onLogOut={() => login(null)} /> : <AccountScreen onSession={login} notice={notice} />}
    </Provider>
  );
}

function Shell({ onLogOut }: { onLogOut: () => void }) {
  const path = usePath();
  const [{ data, fetching, error }] = useQuery({ query: MeQuery });
  const [, logOut] = useMutation(LogOutMutation);
  const expired = error?.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED") || (data && !data.me);
  const me = data?.me;
  const owner = me?.kind !== "COLLABORATOR";
  const landing = path === "/" || path === "/login" || path === "/signup";
  useEffect(() => {
    if (expired) onLogOut(); // the session expired or was revoked
    else if (me && landing) navigate(owner ? "/shared-by-me" : "/shared-with-me");
  }, [expired, me, landing, owner, onLogOut]);
  if (fetching && !data) return <Loading what="your account" />;
  if (!me || expired) return null;
  const section = path.startsWith("/shared-by-me") ? "by" : path.startsWith("/shared") ? "with" : owner ? "by" : "with";
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand"><span aria-hidden="true">◆</span> collab-gateway</span>
        <nav aria-label="Main">
          {owner && <Link to="/shared-by-me" current={section === "by"}>Shared by me</Link>}
          <Link to="/shared-with-me" current={section === "with"}>Shared with me</Link>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <span className="who" title={me.email}>{me.displayName || me.email}</span>
        <button type="button" className="secondary small" onClick={async () => { await logOut({}); onLogOut(); }}>
          Log out
        </button>
      </header>
      <main id="main">
        {section === "by" ? <SharedByMe path={path} /> : <SharedWithMe path={path} me={me} />}
      </main>
    </>
  );
}
