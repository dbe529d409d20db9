/**
 * Waking the fleet scaler: a submit to an agent pool invokes the scaler function
 * asynchronously, so the first agents are launched within about a second of the work arriving
 * rather than at the scaler's next scheduled pass (up to a minute later). At most one wake per
 * pool every `minIntervalMs` per API container; a failed wake is only logged (the schedule is
 * the safety net).
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";

export interface ScalerKickOptions {
  /** The scaler function's name or ARN. */
  functionName: string;
  /** Pools served by agents (others need no scaler). */
  agentPools: readonly string[];
  lambda?: LambdaClient;
  /** @default 10_000 */
  minIntervalMs?: number;
  onError?: (error: Error) => void;
  now?: () => number;
}

/** Returns the wake function (`onAgentWork` of the runtime). */
export function createScalerKick(options: ScalerKickOptions): (pool: string) => Promise<void> {
  const lambda = options.lambda ?? new LambdaClient({});
  const now = options.now ?? Date.now;
  const last = new Map<string, number>();
  return async (pool) => {
    if (!options.agentPools.includes(pool)) return;
    const at = now();
    if (at - (last.get(pool) ?? Number.NEGATIVE_INFINITY) < (options.minIntervalMs ?? 10_000)) return;
    last.set(pool, at);
    try {
      await lambda.send(
        new InvokeCommand({
          FunctionName: options.functionName,
          InvocationType: "Event",
          Payload: new TextEncoder().encode(JSON.stringify({ source: "tessera.submit", pool })),
        }),
      );
    } catch (error) {
      last.delete(pool); // the next submit tries again
      options.onError?.(error as Error);
    }
  };
}

/** The wake from the environment (TESSERA_SCALER_FUNCTION, TESSERA_AGENT_POOLS), if configured. */
export function scalerKickFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const functionName = env.TESSERA_SCALER_FUNCTION;
  const agentPools = (env.TESSERA_AGENT_POOLS ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (!functionName || agentPools.length === 0) return undefined;
  return createScalerKick({
    functionName,
    agentPools,
    onError: (error) =>
      console.error(JSON.stringify({ message: "could not wake the fleet scaler", error: error.message })),
  });
}
