import { priceFleetUsage } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { FleetSchema } from "../http/schemas.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** GET /fleet: the agent pools as the fleet controller last saw them. */
export const getFleetRoute = defineRoute({
  method: "GET",
  path: "/fleet",
  operationId: "getFleet",
  summary: "Agent pools: queues, agents, recent launches, shortfalls and cost",
  description:
    "Each agent pool as the fleet controller's last pass read it: waiting tickets per priority, agents by state, the launches (with instance types and markets) and shortfalls of the last hour, and the pool's agent time so far priced at list prices. The local grid keeps it beside its controller (no request; passes every few seconds); a deployed scaler leaves it in its lock item at the end of each invocation (one small read, at most about a minute old, as `at` says). A grid without agent pools shows `pools: []`. The pools are the grid's, shared by its tenants: no session or tenant data.",
  tags: ["fleet"],
  params: NoParams,
  query: NoParams,
  status: 200,
  response: FleetSchema,
  errors: [],
  async handle({ runtime }) {
    const pools = (await runtime.fleet?.pools()) ?? [];
    return {
      pools: pools.map(({ usage, ...p }) => {
        const cost = usage && priceFleetUsage(usage);
        return {
          ...p,
          at: iso(p.at),
          recentLaunches: p.recentLaunches.map((l) => ({ ...l, at: iso(l.at) })),
          shortfalls: p.shortfalls.map((s) => ({ ...s, at: iso(s.at) })),
          ...(usage && cost
            ? {
                costDollars: cost.dollars,
                cost: {
                  since: iso(usage.since),
                  to: iso(usage.to),
                  dollars: cost.dollars,
                  lines: cost.lines.map(({ seconds, ...l }) => ({ ...l, instanceSeconds: seconds })),
                  prices: cost.prices,
                },
              }
            : {}),
        };
      }),
    };
  },
});
