// One urql client per session: HTTP for queries and mutations, graphql-ws for subscriptions.
import { createClient as createWsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";

export function makeClient(token: string | null): Client {
  const ws = createWsClient({
    url: `${location.origin.replace(/^http/, "ws")}/graphql`,
    connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
    lazy: true,
    retryAttempts: Infinity,
  });
  return new Client({
    url: "/graphql",
    // Every screen shows what the server holds now; mutations refetch their screen.
    requestPolicy: "cache-and-network",
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
    fetchOptions: (): RequestInit => ({ headers: token ? { Authorization: `Bearer ${token}` } : {} }),
  });
}
