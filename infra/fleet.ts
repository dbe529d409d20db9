/**
 * The fleet scaler: a function EventBridge runs every minute that launches the agent pools'
 * instances through EC2 Fleet when their queues fill and terminates idle ones (see
 * packages/functions/src/scaler.ts for how it reacts within seconds while there is work, and
 * costs one short invocation a minute when there is none). One invocation at a time: two
 * scalers would launch twice for the same backlog, so an invocation first takes a lock item in
 * the grid's table (a conditional write) and returns at once if another holds it. Not reserved
 * concurrency 1: reserving any concurrency fails on accounts whose quota is the new-account
 * 10 (AWS keeps 10 unreserved), and would take it from every other function.
 */
import { IMAGE_PARAMETERS, type agents as makeAgents } from "./agents.ts";
import { functionDefaults } from "./functions.ts";
import { scalerFunctionName } from "./grid.ts";
import { scalerPermissions } from "./permissions.ts";

type Fleet = NonNullable<Awaited<ReturnType<typeof makeAgents>>>;

export function fleetScaler(
  fleet: Fleet,
  environment: Record<string, $util.Input<string>>,
  tableArn: $util.Input<string>,
) {
  const { partition } = aws.getPartitionOutput();
  const region = aws.getRegionOutput().name;
  const account = aws.getCallerIdentityOutput().accountId;
  const s = fleet.scaling;
  // TESSERA_FLEET, as packages/functions/src/scaler.ts reads it.
  const config = $jsonStringify({
    grid: s.prefix,
    everySeconds: 10,
    pools: Object.fromEntries(
      Object.entries(fleet.pools).map(([pool, p]) => [
        pool,
        {
          launchTemplateId: p.launchTemplate,
          subnets: s.zones.map((z) => ({ id: z.id, zone: z.zone })),
          vcpu: p.settings.vcpu,
          memoryGiB: p.settings.memoryGiB,
          arch: p.settings.arch,
          spot: p.settings.spot,
          maxAgents: p.settings.maxAgents,
          ...(p.settings.accelerators ? { accelerators: p.settings.accelerators } : {}),
        },
      ]),
    ),
  });
  const defaults = functionDefaults({ ...environment, TESSERA_FLEET: config });
  const imageParameters = [
    ...new Set(
      Object.values(fleet.pools)
        .filter((p) => p.settings.image in IMAGE_PARAMETERS)
        .map((p) => IMAGE_PARAMETERS[p.settings.image]![p.settings.arch]),
    ),
  ];
  return new sst.aws.CronV2("Scaler", {
    schedule: "rate(1 minute)",
    function: {
      ...defaults,
      name: scalerFunctionName(s.prefix),
      // A wake that finds the scaler busy is dropped after a minute, not queued for hours: the
      // running scaler sees the same queues.
      retries: 0,
      transform: {
        ...defaults.transform,
        eventInvokeConfig: (args: aws.lambda.FunctionEventInvokeConfigArgs) => {
          args.maximumEventAgeInSeconds = 60;
        },
      },
      handler: "packages/functions/src/entries/scaler.handler",
      memory: "256 MB",
      // A run stops starting passes at 55 s; a launch or a stop in flight then finishes.
      timeout: "90 seconds",
      permissions: scalerPermissions({
        table: tableArn,
        partition,
        region,
        account,
        grid: s.prefix,
        agentQueues: s.agentQueues,
        launchTemplates: s.launchTemplateArns,
        subnets: s.zones.map((z) => z.arn),
        securityGroup: s.securityGroupArn,
        agentRoles: s.roleArns,
        imageParameters,
      }),
    },
  });
}
