/// <reference path="./.sst/platform/config.d.ts" />
/**
 * The whole grid on AWS: `npx sst deploy --stage prod`. One file per concern in infra/; every
 * name comes from the same definitions (packages/core/src/resources.ts) the local grid uses.
 */
/** The region the environment names, if any (else the AWS profile's applies). */
function regionFromEnv(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

export default $config({
  app(input) {
    return {
      name: "tessera",
      home: "aws",
      // Keep data when a production stage is removed; other stages clean up after themselves.
      removal: input?.stage === "prod" ? "retain" : "remove",
      protect: input?.stage === "prod",
      // The region: AWS_REGION (or AWS_DEFAULT_REGION), else the AWS profile's own, as the
      // AWS CLI and SDKs choose it; never a silent us-east-1.
      providers: { aws: regionFromEnv() ? { region: regionFromEnv() as never } : {} },
    };
  },
  async run() {
    const { gridFor, servedBy } = await import("./infra/grid.ts");
    const { storage } = await import("./infra/storage.ts");
    const { queues } = await import("./infra/queues.ts");
    const { functions } = await import("./infra/functions.ts");
    const { agents } = await import("./infra/agents.ts");
    const { monitoring } = await import("./infra/monitoring.ts");
    const { agentTaskLogs } = await import("./infra/task-logs.ts");
    const grid = gridFor($app.stage);
    const served = servedBy(grid);
    const { table, bucket } = storage(grid);
    const { ticketQueues } = queues(grid);
    const arns = {
      table: table.arn,
      bucket: bucket.arn,
      ticketQueues: ticketQueues.map((q) => q.queue.arn),
      deadLetterQueues: ticketQueues.map((q) => q.dlq.arn),
    };
    // Where agents ship their task log entries; the API reads them there and in the worker's group.
    const taskLogs = agentTaskLogs(grid.table.name.replace(/-tasks$/, ""), served.agents);
    const { api, worker, images, environment, region, auth } = functions(
      grid,
      arns,
      ticketQueues,
      served.lambda,
      served.agents,
      bucket.name,
      taskLogs,
    );
    const fleet = await agents(grid, served.agents, arns, ticketQueues, bucket, environment, taskLogs);
    if (fleet) {
      const { fleetScaler } = await import("./infra/fleet.ts");
      fleetScaler(fleet, environment, table.arn);
    }
    const { dashboard, forwarder } = monitoring(grid, {
      worker: worker && { name: worker.name },
      imageWorkers: images.map((i) => ({ name: i.name })),
    });
    if ($dev) {
      const { devCommands } = await import("./infra/dev.ts");
      // AWS_REGION is reserved in Lambda, but the agent on this machine needs it.
      devCommands(grid, { ...environment, AWS_REGION: region });
    }
    // `tessera profile NAME --from-outputs .sst/outputs.json` reads api, region and auth.
    return {
      region,
      auth,
      dashboard: dashboard.dashboardName,
      // For the central bus's owner: the command that lets this grid put events (see the README).
      ...(forwarder && { centralBusPermission: forwarder.busPermission }),
      api: api.url,
      table: table.name,
      bucket: bucket.name,
      queues: Object.fromEntries(ticketQueues.map((q) => [q.name, q.queue.url])),
      ...(fleet && {
        agents: {
          pools: fleet.pools,
          subnets: fleet.subnets,
          securityGroup: fleet.securityGroup,
          ...(fleet.eksRole && { eksRole: fleet.eksRole }),
        },
      }),
    };
  },
});
