/**
 * Launching across capacity pools. An instance comes from a capacity pool: a market (spot or
 * on-demand), a zone and an instance type. Any of them can run out; EC2 then answers
 * `InsufficientInstanceCapacity` (or, for a whole request, `InsufficientCapacity`,
 * `RequestLimitExceeded`, `InternalError`). The launcher remembers each pool that failed and
 * leaves it out for a cooling period that doubles on each repeat, so the next request goes to
 * other instance types and zones (widening), spot falls back to on-demand when the pool
 * allows spot, and a pool that cannot be filled is reported instead of retried in a loop.
 *
 * The provider call is behind `CapacityApi`: the EC2 adapter implements it with CreateFleet
 * (instant), the simulation with its fake cloud, so both run this same logic.
 */
import type { LaunchError, LaunchReport, Placement } from "./ports.ts";

export type Market = "spot" | "on-demand";

/** One provider request: `count` instances of `market` in `zones`, less excluded types. */
export interface CapacityRequest {
  market: Market;
  count: number;
  zones: string[];
  /** Instance types to leave out, per zone (their capacity failed recently). */
  excludedTypes: Record<string, string[]>;
}

/** What the provider did with a request. */
export interface CapacityResponse {
  instances: Array<{ id: string; zone: string; instanceType: string }>;
  /** Per capacity pool failures (the request as a whole succeeded or partly did). */
  errors: Array<{
    code: string;
    message: string;
    zone?: string | undefined;
    instanceType?: string | undefined;
  }>;
}

/** The provider: throws for a failure of the whole request (throttling, a fault, a setup error). */
export interface CapacityApi {
  request(request: CapacityRequest): Promise<CapacityResponse>;
}

/** Throttling and transient faults: whole-request errors after which no other market is tried. */
const REQUEST_LEVEL: ReadonlySet<string> = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "Unavailable",
]);

/** Provider error codes that pass with time: capacity shortages, throttling and transient faults. */
export const RETRYABLE_LAUNCH_ERRORS: ReadonlySet<string> = new Set([
  "InsufficientInstanceCapacity",
  "InsufficientCapacity",
  "InsufficientHostCapacity",
  "InsufficientFreeAddressesInSubnet",
  "UnfulfillableCapacity",
  "SpotMaxPriceTooLow",
  "MaxSpotInstanceCountExceeded",
  "InsufficientCapacityOnOutpost",
  ...REQUEST_LEVEL,
]);

export interface CapacityLauncherOptions {
  api: CapacityApi;
  zones: string[];
  /** Spot first, on-demand for the rest; false: on-demand only. */
  spot: boolean;
  now: () => number;
  /** First cooling period of a failed capacity pool, ms. @default 60_000 */
  coolMs?: number;
  /** Longest cooling period, ms. @default 900_000 */
  maxCoolMs?: number;
}

interface Cooling {
  until: number;
  strikes: number;
}

/** Spreads launches over capacity pools, leaving out those that failed recently. */
export class CapacityLauncher {
  readonly #o: Required<CapacityLauncherOptions>;
  /** `market|zone|type` (type `*`: the whole zone) → cooling. */
  readonly #cooling = new Map<string, Cooling>();

  constructor(options: CapacityLauncherOptions) {
    if (options.zones.length === 0) throw new Error("a capacity launcher needs at least one zone");
    this.#o = { ...options, coolMs: options.coolMs ?? 60_000, maxCoolMs: options.maxCoolMs ?? 900_000 };
  }

  /** Capacity pools left out now, as `market|zone|type`. */
  cooling(): string[] {
    const now = this.#o.now();
    return [...this.#cooling].filter(([, c]) => c.until > now).map(([k]) => k);
  }

  /** Launches up to `count` instances: spot first where allowed, then on-demand. */
  async launch(count: number): Promise<LaunchReport> {
    const launched: string[] = [];
    const placed: Placement[] = [];
    const errors: LaunchError[] = [];
    const markets: Market[] = this.#o.spot ? ["spot", "on-demand"] : ["on-demand"];
    for (const market of markets) {
      const remaining = count - launched.length;
      if (remaining <= 0) break;
      const now = this.#o.now();
      const zones = this.#o.zones.filter((z) => !this.#isCooling(market, z, "*", now));
      if (zones.length === 0) {
        errors.push({
          code: "NoCapacityPoolLeft",
          message: `every ${market} zone failed recently; next try after ${new Date(this.#nextTry(market)).toISOString()}`,
          retryable: true,
          market,
        });
        continue;
      }
      const excludedTypes: Record<string, string[]> = {};
      for (const z of zones) excludedTypes[z] = this.#coolingTypes(market, z, now);
      let response: CapacityResponse;
      try {
        response = await this.#o.api.request({ market, count: remaining, zones, excludedTypes });
      } catch (error) {
        const code = errorCode(error);
        const retryable = RETRYABLE_LAUNCH_ERRORS.has(code);
        errors.push({ code, message: (error as Error).message, retryable, market });
        // Capacity for the whole request in this market: cool every zone tried.
        if (!REQUEST_LEVEL.has(code) && retryable) for (const z of zones) this.#cool(market, z, "*");
        // Throttling or a fault: no other market this round. A setup error in one market (spot
        // not permitted, say) still leaves the other to try.
        if (REQUEST_LEVEL.has(code)) break;
        continue;
      }
      for (const i of response.instances) {
        launched.push(i.id);
        placed.push({ id: i.id, instanceType: i.instanceType, market, zone: i.zone });
        // Capacity came from there: forget its past failures.
        this.#cooling.delete(this.#key(market, i.zone, i.instanceType));
        this.#cooling.delete(this.#key(market, i.zone, "*"));
      }
      for (const e of response.errors) {
        const retryable = RETRYABLE_LAUNCH_ERRORS.has(e.code);
        errors.push({ ...e, retryable, market });
        if (retryable && e.zone) this.#cool(market, e.zone, e.instanceType ?? "*");
      }
    }
    return { launched, errors, placed };
  }

  #key(market: Market, zone: string, type: string): string {
    return `${market}|${zone}|${type}`;
  }

  #isCooling(market: Market, zone: string, type: string, now: number): boolean {
    return (this.#cooling.get(this.#key(market, zone, type))?.until ?? 0) > now;
  }

  #coolingTypes(market: Market, zone: string, now: number): string[] {
    const prefix = `${market}|${zone}|`;
    const types: string[] = [];
    for (const [k, c] of this.#cooling) {
      if (k.startsWith(prefix) && c.until > now) {
        const type = k.slice(prefix.length);
        if (type !== "*") types.push(type);
      }
    }
    return types.sort();
  }

  #cool(market: Market, zone: string, type: string): void {
    const key = this.#key(market, zone, type);
    const before = this.#cooling.get(key);
    // Strikes add up only while failures follow one another; long after a cooling ended, start over.
    const recent = before !== undefined && this.#o.now() - before.until < this.#o.maxCoolMs;
    const strikes = (recent ? before.strikes : 0) + 1;
    const ms = Math.min(this.#o.maxCoolMs, this.#o.coolMs * 2 ** (strikes - 1));
    this.#cooling.set(key, { until: this.#o.now() + ms, strikes });
  }

  #nextTry(market: Market): number {
    let next = Number.POSITIVE_INFINITY;
    const now = this.#o.now();
    for (const [k, c] of this.#cooling)
      if (k.startsWith(`${market}|`) && c.until > now) next = Math.min(next, c.until);
    return Number.isFinite(next) ? next : this.#o.now();
  }
}

/** The provider's error code of a thrown error (AWS SDK v3: `name`; also `Code`/`code`). */
export function errorCode(error: unknown): string {
  if (typeof error !== "object" || error === null) return "Unknown";
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  for (const c of [e.Code, e.code, e.name]) if (typeof c === "string" && c !== "Error") return c;
  return "Unknown";
}
