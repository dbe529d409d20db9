/**
 * Monitoring: CloudWatch alarms on what needs a person (a dead-letter queue that is not empty,
 * tickets waiting too long, worker errors, Lambda and DynamoDB throttles), sent to an SNS topic
 * (email it with TESSERA_ALARM_EMAIL), and a dashboard of queues, functions and task metrics.
 * Alarms and dashboards cost nothing while idle beyond CloudWatch's per-alarm price.
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";

/** Settings read at deploy time. */
export const monitoringSettings = {
  /** Oldest ticket age (seconds) that raises an alarm. @default 900 */
  maxTicketAgeSeconds: Number(process.env.TESSERA_MAX_TICKET_AGE_SECONDS ?? 900),
  alarmEmail: process.env.TESSERA_ALARM_EMAIL,
};

/** Names of the functions to watch. */
export interface WatchedFunctions {
  worker: { name: string | $util.Output<string> };
  api?: { name: string | $util.Output<string> } | undefined;
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
  const functions = [watched.worker, ...(watched.api ? [watched.api] : [])];
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
  return { topic, dashboard };
}
