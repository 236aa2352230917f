// "Shared by me": the owner's tabs, one query per tab.
import { Link } from "../router";
import { AuditLog } from "./owner/AuditLog";
import { Environments } from "./owner/Environments";
import { Members } from "./owner/Members";
import { Roles } from "./owner/Roles";

const TABS = [
  { path: "members", label: "Members" },
  { path: "environments", label: "Groups & environments" },
  { path: "roles", label: "Roles" },
  { path: "audit", label: "Audit log" },
] as const;

export function SharedByMe({ path }: { path: string }) {
  const tab = path.split("/")[2] || "members";
  return (
    <section aria-labelledby="by-heading">
      <h1 id="by-heading">Shared by me</h1>
      <nav className="tabs" aria-label="Shared by me">
        {TABS.map((t) => (
          <Link key={t.path} to={`/shared-by-me/${t.path}`} current={tab === t.path}>{t.label}</Link>
        ))}
      </nav>
      {tab === "members" && <Members />}
      {tab === "environments" && <Environments />}
      {tab === "roles" && <Roles />}
      {tab === "audit" && <AuditLog />}
    </section>
  );
}
