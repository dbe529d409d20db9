/**
 * The spot interruption watch: on an EC2 spot instance, polls the instance metadata service
 * (IMDSv2, through the AWS SDK's MetadataService) for `spot/instance-action`, which appears
 * about two minutes before EC2 stops or terminates the instance. The agent then drains within
 * the notice: it takes no more work, lets running tasks finish while there is time, and
 * releases the rest so other agents run them at once instead of after a lease expiry.
 */
import { MetadataService } from "@aws-sdk/ec2-metadata-service";

/** An interruption notice. */
export interface SpotNotice {
  /** `terminate`, `stop` or `hibernate`. */
  action: string;
  /** When EC2 acts, epoch ms. */
  at: number;
}

export interface SpotWatchOptions {
  /** Stops the watch. */
  signal: AbortSignal;
  /** Called once, with the notice. */
  onNotice: (notice: SpotNotice) => void;
  /** A poll that failed other than with "no notice" (404); the watch goes on. */
  onError?: (error: Error) => void;
  /** The metadata service. @default http://169.254.169.254 */
  endpoint?: string;
  /** Poll interval, ms. AWS suggests every 5 s. @default 5000 */
  everyMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

/** Reads a notice body (`{"action":"terminate","time":"2026-11-24T08:22:00Z"}`). */
export function parseSpotNotice(body: string): SpotNotice | undefined {
  try {
    const { action, time } = JSON.parse(body) as { action?: unknown; time?: unknown };
    const at = typeof time === "string" ? Date.parse(time) : Number.NaN;
    if (typeof action !== "string" || Number.isNaN(at)) return undefined;
    return { action, at };
  } catch {
    return undefined;
  }
}

/** Polls until a notice comes (reported once) or `signal` aborts. */
export async function watchSpotInterruption(options: SpotWatchOptions): Promise<void> {
  const imds = new MetadataService({
    endpoint: options.endpoint ?? "http://169.254.169.254",
    httpOptions: { timeout: 1_000 },
    ec2MetadataV1Disabled: true, // the launch template requires IMDSv2
    retries: 0,
  });
  const everyMs = options.everyMs ?? 5_000;
  while (!options.signal.aborted) {
    try {
      // Relative: the SDK puts the endpoint's path ("/") first.
      const notice = parseSpotNotice(await imds.request("latest/meta-data/spot/instance-action", {}));
      if (notice) {
        options.onNotice(notice);
        return;
      }
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) options.onError?.(error as Error); // 404: no notice yet
    }
    await sleep(everyMs, options.signal);
  }
}

/** What `drainOnSpotNotice` needs of an agent. */
interface Drainable {
  stop(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Watches for a spot notice and drains `agent` within it: running tasks get until
 * `marginMs` before EC2 acts (their commits and the releases fit in the margin), then the rest
 * are released. Returns a function that ends the watch.
 */
export function drainOnSpotNotice(
  agent: Drainable,
  options: Omit<SpotWatchOptions, "signal" | "onNotice"> & {
    /** Time kept before EC2 acts for commits and releases, ms. @default 20_000 */
    marginMs?: number;
    onNotice?: (notice: SpotNotice, graceMs: number) => void;
    now?: () => number;
  } = {},
): () => void {
  const stop = new AbortController();
  void watchSpotInterruption({
    ...options,
    signal: stop.signal,
    onNotice: (notice) => {
      const graceMs = Math.max(0, notice.at - (options.now ?? Date.now)() - (options.marginMs ?? 20_000));
      options.onNotice?.(notice, graceMs);
      void agent.stop({ graceMs });
    },
  });
  return () => stop.abort();
}
