/**
 * Where task logs live on AWS, and who may touch them. The worker function's own log group
 * (SST creates `/aws/lambda/<name>`) holds its tasks' entries, printed on stdout; the agents'
 * entries go to one log group of the grid's, `/tessera/<prefix>/agent-tasks`, which each agent
 * writes to itself (its stdout goes to the journal, which CloudWatch cannot read). Both keep
 * entries as long as the grid keeps task records (TESSERA_RETENTION_DAYS, rounded up to a
 * retention CloudWatch offers). The API reads both through its logs route.
 */
import { retentionDays } from "./storage.ts";

/** The retentions CloudWatch Logs offers, in days (SST's RETENTION table, `forever` aside). */
const CLOUDWATCH_RETENTIONS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** The shortest retention CloudWatch offers that keeps `days` (10 years at most). */
export function logRetentionDays(days = retentionDays()): number {
  return CLOUDWATCH_RETENTIONS.find((d) => d >= days) ?? 3653;
}

/** The agents' task log group of a grid. */
export function agentTaskLogGroupName(prefix: string): string {
  return `/tessera/${prefix}/agent-tasks`;
}

/** A log group as the other components use it. */
export interface LogGroupRef {
  name: $util.Input<string>;
  arn: $util.Input<string>;
}

/** The agents' task log group, when the grid has agent pools. */
export function agentTaskLogs(prefix: string, agentPools: string[]): LogGroupRef | undefined {
  if (agentPools.length === 0) return undefined;
  const group = new aws.cloudwatch.LogGroup("AgentTaskLogs", {
    name: agentTaskLogGroupName(prefix),
    retentionInDays: logRetentionDays(),
  });
  return { name: group.name, arn: group.arn };
}

/**
 * Log group resources in IAM: `<arn>:*` is how CloudWatch Logs' actions name a group and its
 * streams (the ARN a LogGroup resource reports has no `:*`).
 */
export function logGroupResource(arn: $util.Input<string>): $util.Output<string> {
  return $interpolate`${arn}:*`;
}
