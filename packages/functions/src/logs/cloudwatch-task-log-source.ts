/**
 * Task logs on AWS: the JSON lines workers and agents print land in CloudWatch Logs (the worker
 * function's log group; the agents' group, which agents write to themselves). A page is one
 * FilterLogEvents search per group, in parallel, with the session's filter pattern: bounded
 * work whatever the groups hold, resumed by the cursor (see cloudwatch-log-query.ts).
 */
import type { Tracer } from "@aws-lambda-powertools/tracer";
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  decodeLogCursor,
  encodeLogCursor,
  filterRequest,
  type GroupResult,
  nextLogPage,
  startCursor,
  taskLogFilterPattern,
} from "./cloudwatch-log-query.ts";
import type { TaskLogSource } from "./task-log-source.ts";

/** A source over `groups` (log group names or ARNs), read with `client`. */
export function cloudWatchTaskLogSource(
  client: CloudWatchLogsClient,
  groups: readonly string[],
): TaskLogSource {
  return {
    async read(tenant, sessionId, query) {
      const cursor =
        query.after === undefined
          ? startCursor(groups.length, query.since)
          : decodeLogCursor(query.after, groups.length);
      const pattern = taskLogFilterPattern(tenant, sessionId, query.index);
      const results = await Promise.all(
        groups.map(async (group, i): Promise<GroupResult> => {
          try {
            const out = await client.send(
              new FilterLogEventsCommand(filterRequest(group, pattern, cursor.groups[i]!, query.limit)),
              { abortSignal: query.signal },
            );
            return { events: out.events ?? [], nextToken: out.nextToken };
          } catch (error) {
            // A group nothing has written to yet (no agent ever ran) holds no entries.
            if (error instanceof ResourceNotFoundException) return { events: [] };
            throw error;
          }
        }),
      );
      const page = nextLogPage({ tenant, sessionId, index: query.index }, cursor, results, query.limit);
      return { entries: page.entries, next: encodeLogCursor(page.cursor), more: page.more };
    },
  };
}

/** A source over `groups` with a client of its own (traced by `tracer` when given). */
export function cloudWatchTaskLogSourceFor(groups: readonly string[], tracer?: Tracer): TaskLogSource {
  const client = new CloudWatchLogsClient({});
  tracer?.captureAWSv3Client(client);
  return cloudWatchTaskLogSource(client, groups);
}
