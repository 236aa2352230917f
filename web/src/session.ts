// The bearer token from logIn/signUp lives in localStorage. The invitation page hands a
// session over as a one-time code in the URL fragment (#handoff=...), which never reaches
// a server or a Referer; only the browser that accepted the invitation can redeem it.
const KEY = "collab.session";

export function readToken(): string | null {
  return localStorage.getItem(KEY);
}

export function saveToken(token: string | null): void {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
}

/** The hand-off code in the fragment, if any, after removing the fragment from the address
 *  bar. A raw `#session=<token>` is removed and never adopted: a crafted link could log a
 *  person into someone else's account (login CSRF, issue 19). */
export function takeHandoffCode(): string | null {
  const handoff = /(?:^#|&)handoff=([^&]+)/.exec(location.hash);
  if (handoff || /(?:^#|&)session=/.test(location.hash)) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  return handoff ? decodeURIComponent(handoff[1]) : null;
}

export type Redeemed = { token: string } | { error: string };

const UNAVAILABLE = "We could not sign you in automatically. Log in with your email and password.";

/** Trades the code for a session; the server checks this browser's hand-off cookie. */
export async function redeemHandoff(code: string): Promise<Redeemed> {
  try {
    const response = await fetch("/app/handoff", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ code }),
    });
    const body = await response.json().catch(() => null);
    if (response.ok && typeof body?.token === "string") return { token: body.token };
    const message = body?.errors?.[0]?.message;
    return { error: typeof message === "string" ? message : UNAVAILABLE };
  } catch {
    return { error: UNAVAILABLE };
  }
}
