// A tiny history router under /app: the dashboard has a handful of addresses.
import { useEffect, useState } from "react";

export const BASE = "/app";

export function navigate(path: string): void {
  history.pushState(null, "", BASE + path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/** The path below /app, e.g. "/shared-by-me/roles". */
export function usePath(): string {
  const read = () => location.pathname.replace(/^\/app/, "").replace(/\/$/, "") || "/";
  const [path, setPath] = useState(read);
  useEffect(() => {
    const update = () => setPath(read());
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  return path;
}

export function Link(props: { to: string; className?: string; children: React.ReactNode; current?: boolean }) {
  return (
    <a
      href={BASE + props.to}
      className={props.className}
      aria-current={props.current ? "page" : undefined}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}
