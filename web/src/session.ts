// The bearer token from logIn/signUp lives in localStorage; the invitation page hands one
// over in the URL fragment (#session=...), which never reaches a server or a Referer.
const KEY = "collab.session";

export function readToken(): string | null {
  return localStorage.getItem(KEY);
}

export function saveToken(token: string | null): void {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
}

/** Takes a token handed over in the fragment, then removes it from the address bar.
 *  Only into an empty slot: a link carrying someone else's session must not silently
 *  replace the one this browser is logged in with (login CSRF, issue 19). A person who
 *  wants the handed-over account logs out first and follows the link again. */
export function adoptFragmentToken(): void {
  const match = /(?:^#|&)session=([^&]+)/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, "", location.pathname + location.search);
  if (readToken() === null) saveToken(decodeURIComponent(match[1]));
}
