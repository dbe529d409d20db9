/**
 * Monitoring: CloudWatch alarms on what needs a person (a dead-letter queue that is not empty,
 * tickets waiting too long, worker errors, Lambda and DynamoDB throttles), sent to an SNS topic
 * (email it with TESSERA_ALARM_EMAIL), and a dashboard of queues, functions and task metrics.
 * Alarms and dashboards cost nothing while idle beyond CloudWatch's per-alarm price.
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";
import { parseBusArn } from "../packages/functions/src/ec2-forwarder.ts";
import { forwarderPermissions, lambdaOnlyTrust } from "./permissions.ts";

/** Settings read at deploy time. */
export const monitoringSettings = {
  /** Oldest ticket age (seconds) that raises an alarm. @default 900 */
  maxTicketAgeSeconds: Number(process.env.TESSERA_MAX_TICKET_AGE_SECONDS ?? 900),
  alarmEmail: process.env.TESSERA_ALARM_EMAIL,
  /** A central monitoring account's event bus; agents' EC2 state changes go there. @default off */
  centralBusArn: process.env.TESSERA_CENTRAL_BUS_ARN,
};

/** The tag every agent instance of a grid carries; its value is the grid's prefix. */
export const AGENT_TAG_KEY = "tessera:grid";

/** Names of the functions to watch. */
export interface WatchedFunctions {
  worker?: { name: string | $util.Output<string> } | undefined;
  api?: { name: string | $util.Output<string> } | undefined;
  /** The container-image workers of Lambda pools in other languages (image-workers.ts). */
  imageWorkers?: { name: string }[] | undefined;
}

export function monitoring(grid: GridDefinition, watched: WatchedFunctions) {
  const topic = new aws.sns.Topic("Alarms", { name: `${grid.table.name.replace(/-tasks$/, "")}-alarms` });
  if (monitoringSettings.alarmEmail) {
    new aws.sns.TopicSubscription("AlarmEmail", {
      topic: topic.arn,
      protocol: "email",
      endpoint: monitoringSettings.alarmEmail,
    });
  }
  const common = {
    alarmActions: [topic.arn],
    okActions: [topic.arn],
    treatMissingData: "notBreaching",
    evaluationPeriods: 1,
    period: 60,
  };
  const id = (text: string) => text.replace(/[^A-Za-z0-9]/g, "");
  for (const q of grid.queues) {
    new aws.cloudwatch.MetricAlarm(`DlqNotEmpty${id(q.name)}`, {
      ...common,
      alarmDescription: `Dead-lettered tickets in ${q.deadLetterPhysicalName}: the reaper turns them into FAILED tasks; look at why they were dead-lettered.`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: q.deadLetterPhysicalName },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
    });
    new aws.cloudwatch.MetricAlarm(`TicketAge${id(q.name)}`, {
      ...common,
      alarmDescription: `Tickets in ${q.physicalName} wait longer than ${monitoringSettings.maxTicketAgeSeconds} s: no worker is taking them.`,
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: q.physicalName },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: monitoringSettings.maxTicketAgeSeconds,
    });
  }
  const functions = [watched.worker, watched.api, ...(watched.imageWorkers ?? [])].filter(
    (f) => f !== undefined,
  );
  functions.forEach((fn, i) => {
    for (const metric of ["Errors", "Throttles"] as const) {
      new aws.cloudwatch.MetricAlarm(`Function${metric}${i}`, {
        ...common,
        alarmDescription: `Lambda ${metric.toLowerCase()} in a grid function.`,
        namespace: "AWS/Lambda",
        metricName: metric,
        dimensions: { FunctionName: fn.name },
        statistic: "Sum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
      });
    }
  });
  new aws.cloudwatch.MetricAlarm("TableThrottles", {
    ...common,
    alarmDescription: "DynamoDB throttled requests on the task table.",
    namespace: "AWS/DynamoDB",
    metricName: "ThrottledRequests",
    dimensions: { TableName: grid.table.name },
    statistic: "Sum",
    comparisonOperator: "GreaterThanThreshold",
    threshold: 0,
  });
  const dashboard = new aws.cloudwatch.Dashboard("Dashboard", {
    dashboardName: grid.table.name.replace(/-tasks$/, ""),
    dashboardBody: JSON.stringify({
      widgets: [
        {
          type: "metric",
          width: 12,
          properties: {
            title: "Tickets waiting",
            metrics: grid.queues.map((q) => [
              "AWS/SQS",
              "ApproximateNumberOfMessagesVisible",
              "QueueName",
              q.physicalName,
            ]),
            stat: "Maximum",
            period: 60,
          },
        },
        {
          type: "metric",
          width: 12,
          properties: {
            title: "Tasks (from the worker's EMF metrics)",
            metrics: ["TasksStarted", "TasksSucceeded", "TasksFailed", "TasksRetried"].map((m) => [
              "Tessera",
              m,
              "service",
              "tessera-worker",
            ]),
            stat: "Sum",
            period: 60,
          },
        },
        {
          type: "metric",
          width: 12,
          properties: {
            title: "Dead-lettered tickets",
            metrics: grid.queues.map((q) => [
              "AWS/SQS",
              "ApproximateNumberOfMessagesVisible",
              "QueueName",
              q.deadLetterPhysicalName,
            ]),
            stat: "Maximum",
            period: 60,
          },
        },
      ],
    }),
  });
  const bus = monitoringSettings.centralBusArn;
  if (bus) parseBusArn(bus); // a wrong ARN stops the deploy, naming the setting
  const forwarder = bus ? forwardAgentStateChanges(grid, bus) : undefined;
  return { topic, dashboard, forwarder };
}

/**
 * EC2 state changes of the grid's tagged agent instances, forwarded to a central bus. The rule
 * matches EC2 state-change events only; EventBridge cannot match on tags (the events carry
 * none), so the forwarder function keeps those whose instance has the grid's tag.
 */
function forwardAgentStateChanges(grid: GridDefinition, busArn: string) {
  const prefix = grid.table.name.replace(/-tasks$/, "");
  const fn = new sst.aws.Function("Ec2Forwarder", {
    runtime: "nodejs24.x",
    architecture: "arm64",
    handler: "packages/functions/src/entries/ec2-forwarder.handler",
    timeout: "30 seconds",
    environment: {
      TESSERA_CENTRAL_BUS_ARN: busArn,
      TESSERA_AGENT_TAG_KEY: AGENT_TAG_KEY,
      TESSERA_AGENT_TAG_VALUE: prefix,
    },
    permissions: forwarderPermissions(busArn),
    transform: lambdaOnlyTrust,
  });
  const rule = new aws.cloudwatch.EventRule("AgentStateChanges", {
    description: `EC2 instance state changes, forwarded for ${prefix}'s agents`,
    eventPattern: JSON.stringify(AGENT_STATE_CHANGE_PATTERN),
  });
  new aws.lambda.Permission("AgentStateChangesInvoke", {
    action: "lambda:InvokeFunction",
    function: fn.name,
    principal: "events.amazonaws.com",
    sourceArn: rule.arn,
  });
  new aws.cloudwatch.EventTarget("AgentStateChangesTarget", { rule: rule.name, arn: fn.arn });
  // The central bus is another account's: its owner grants this account PutEvents on it, with
  // the command the stack outputs as `centralBusPermission` (README). PutPermission with a
  // principal and a statement id adds one statement: the bus's other grants stay (a whole
  // `--policy` would replace them). Until then every put is refused.
  const bus = parseBusArn(busArn);
  const busPermission = $interpolate`aws events put-permission --region ${bus.region} --event-bus-name ${bus.name} --statement-id ${prefix.replace(/[^A-Za-z0-9]/g, "").slice(0, 64)} --action events:PutEvents --principal ${aws.getCallerIdentityOutput().accountId}`;
  return { fn, rule, busPermission };
}

/** The rule's pattern: EC2 instance state-change notifications, nothing else. */
export const AGENT_STATE_CHANGE_PATTERN = {
  source: ["aws.ec2"],
  "detail-type": ["EC2 Instance State-change Notification"],
};
