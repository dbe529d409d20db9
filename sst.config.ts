/// <reference path="./.sst/platform/config.d.ts" />
/**
 * The whole grid on AWS: `npx sst deploy --stage prod`. One file per concern in infra/; every
 * name comes from the same definitions (packages/core/src/resources.ts) the local grid uses.
 */
export default $config({
  app(input) {
    return {
      name: "tessera",
      home: "aws",
      // Keep data when a production stage is removed; other stages clean up after themselves.
      removal: input?.stage === "prod" ? "retain" : "remove",
      protect: input?.stage === "prod",
      providers: { aws: { region: (process.env.AWS_REGION as never) ?? "us-east-1" } },
    };
  },
  async run() {
    const { gridFor } = await import("./infra/grid.ts");
    const { storage } = await import("./infra/storage.ts");
    const { queues } = await import("./infra/queues.ts");
    const { functions } = await import("./infra/functions.ts");
    const { monitoring } = await import("./infra/monitoring.ts");
    const grid = gridFor($app.stage);
    const { table, bucket } = storage(grid);
    const { ticketQueues } = queues(grid);
    const { api, worker, environment, region } = functions(
      grid,
      {
        table: table.arn,
        bucket: bucket.arn,
        ticketQueues: ticketQueues.map((q) => q.queue.arn),
        deadLetterQueues: ticketQueues.map((q) => q.dlq.arn),
      },
      ticketQueues,
    );
    const { dashboard } = monitoring(grid, { worker: { name: worker.name } });
    if ($dev) {
      const { devCommands } = await import("./infra/dev.ts");
      // AWS_REGION is reserved in Lambda, but the agent on this machine needs it.
      devCommands(grid, { ...environment, AWS_REGION: region });
    }
    return {
      dashboard: dashboard.dashboardName,
      api: api.url,
      table: table.name,
      bucket: bucket.name,
      queues: Object.fromEntries(ticketQueues.map((q) => [q.name, q.queue.url])),
    };
  },
});
