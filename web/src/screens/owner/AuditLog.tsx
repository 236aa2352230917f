// The audit log: filters and cursor paging (pages of 25, newest first).
import { useState } from "react";
import { useQuery } from "urql";
import { graphql } from "../../gql";
import type { AuditFilter, AuditOutcome } from "../../gql/graphql";
import { Badge, Empty, Loading, QueryError, formatDate } from "../../ui";

graphql(`fragment AuditRow on AuditEntry { id at action outcome targetType targetId environmentId actor { id email displayName } }`);
const AuditScreen = graphql(`
  query AuditScreen($filter: AuditFilter, $after: String) {
    auditLog(filter: $filter, first: 25, after: $after) {
      edges { cursor node { ...AuditRow } }
      pageInfo { hasNextPage endCursor }
    }
    members { id email displayName account { id } }
    environments { id name }
    environmentGroups { id name children { id name children { id name children { id name } } } }
  }
`);

export function AuditLog() {
  const [filter, setFilter] = useState<AuditFilter>({});
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const after = pages[pages.length - 1];
  const [{ data, fetching, error }] = useQuery({ query: AuditScreen, variables: { filter, after }, requestPolicy: "network-only" });
  const set = (patch: AuditFilter) => { setFilter({ ...filter, ...patch }); setPages([null]); };
  const actors = (data?.members ?? []).filter((m) => m.account);
  const names = new Map<string, string>();
  data?.environments.forEach((e) => names.set(e.id, e.name));
  data?.members.forEach((m) => names.set(m.id, m.email));
  type G = { id: string; name: string; children?: G[] };
  const walk = (g: G) => { names.set(g.id, g.name); g.children?.forEach(walk); };
  (data?.environmentGroups as G[] | undefined)?.forEach(walk);
  const edges = data?.auditLog?.edges ?? [];
  const day = (v: string, end = false) => (v ? new Date(`${v}T${end ? "23:59:59" : "00:00:00"}`).toISOString() : null);
  return (
    <section aria-label="Audit log">
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter the audit log">
        <label>Who <select onChange={(e) => set({ actorId: e.target.value || null })} defaultValue="">
          <option value="">Anyone</option>
          {actors.map((m) => <option key={m.id} value={m.account!.id}>{m.displayName || m.email}</option>)}
        </select></label>
        <label>Environment <select onChange={(e) => set({ environmentId: e.target.value || null })} defaultValue="">
          <option value="">Any</option>
          {data?.environments.map((e) => <option key={e.id} value={e.id}>{e.name}</option>)}
        </select></label>
        <label>Action <input placeholder="e.g. env.stop" onChange={(e) => set({ action: e.target.value.trim() || null })} /></label>
        <label>Outcome <select onChange={(e) => set({ outcome: (e.target.value || null) as AuditOutcome | null })} defaultValue="">
          <option value="">Any</option><option value="ALLOWED">Allowed</option><option value="DENIED">Denied</option>
        </select></label>
        <label>From <input type="date" onChange={(e) => set({ since: day(e.target.value) })} /></label>
        <label>To <input type="date" onChange={(e) => set({ until: day(e.target.value, true) })} /></label>
      </form>
      <QueryError error={error} />
      {fetching && !data && <Loading what="the audit log" />}
      {data && edges.length === 0 && <Empty>No entries match.</Empty>}
      {edges.length > 0 && (
        <div className="table-wrap">
          <table className="audit">
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Outcome</th></tr></thead>
            <tbody>
              {edges.map(({ node: n }) => (
                <tr key={n.id}>
                  <td>{formatDate(n.at)}</td>
                  <td>{n.actor ? n.actor.displayName || n.actor.email : "system"}</td>
                  <td><code>{n.action}</code></td>
                  <td>{n.targetType.toLowerCase()} {(n.targetId && names.get(n.targetId)) || (n.environmentId && names.get(n.environmentId)) || ""}</td>
                  <td><Badge value={n.outcome} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions pager">
        <button className="secondary small" disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>Newer</button>
        <span className="muted">Page {pages.length}</span>
        <button className="secondary small" disabled={!data?.auditLog?.pageInfo.hasNextPage}
          onClick={() => setPages([...pages, data!.auditLog!.pageInfo.endCursor ?? null])}>Older</button>
      </div>
    </section>
  );
}
