// GraphiQL served by the gateway itself (GET /graphql in a browser): no CDN, works offline.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createClient } from "graphql-ws";
import { createRoot } from "react-dom/client";
import { readToken } from "./session";

const http = `${location.origin}/graphql`;
const ws = http.replace(/^http/, "ws");
const token = readToken();

const fetcher = createGraphiQLFetcher({
  url: http,
  wsClient: createClient({
    url: ws,
    connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
  }),
});

const defaultQuery = `# The dashboard's session is filled in under Headers when you are logged in.
{
  me { id email displayName kind }
}
`;

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={defaultQuery}
    defaultHeaders={token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : undefined}
  />,
);
