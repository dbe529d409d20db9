/**
 * `usePoll`: loads a document, then again after the delay the page asks for (every 2 s while a
 * session runs, rarely when it is idle, never once it is settled). A hidden tab polls at most
 * every 30 s and catches up when shown again; an unreachable grid is retried with growing
 * delays (up to 30 s), and the page says when the next try is.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

/** Slowest poll of a hidden tab. */
const HIDDEN_MS = 30_000;
/** Retry delay while the credential is refused: the server may be restarted with a good one. */
const CREDENTIALS_RETRY_MS = 10_000;

/** The latest load of a polled document. */
export interface Polled<T> {
  data?: T | undefined;
  /** The last load's failure (the data, if any, is from an earlier load). */
  error?: ApiError | undefined;
  /** When the next try after a failure is due (epoch ms). */
  retryAt?: number | undefined;
  /** Loads again now (after an action). */
  refresh(): void;
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError
    ? error
    : new ApiError(String(error), { kind: "other", status: 0, code: "CLIENT" });
}

/** After a failure: how long until the next try, or null to stop (nothing would change). */
function retryDelay(error: ApiError, failures: number): number | null {
  if (error.kind === "credentials") return CREDENTIALS_RETRY_MS;
  if (error.kind === "unavailable" || error.kind === "notFound" || error.status === 400) return null;
  return Math.min(30_000, 1_000 * 2 ** Math.min(failures, 5));
}

/**
 * Polls `load` (again whenever `key` changes), once `enabled`. `nextMs` gets each loaded
 * document and returns the delay before the next load, or null to stop.
 */
export function usePoll<T>(
  key: string,
  load: () => Promise<T>,
  nextMs: (data: T) => number | null,
  enabled = true,
): Polled<T> {
  const [state, setState] = useState<Omit<Polled<T>, "refresh">>({});
  const loadRef = useRef(load);
  const nextRef = useRef(nextMs);
  loadRef.current = load;
  nextRef.current = nextMs;
  const kick = useRef<() => void>(() => {});
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let polling = true;
    let inFlight = false;
    let again = false;
    let failures = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({});
    const run = async (): Promise<void> => {
      clearTimeout(timer);
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      let delay: number | null;
      try {
        const data = await loadRef.current();
        if (stopped) return;
        failures = 0;
        delay = nextRef.current(data);
        setState({ data });
      } catch (e) {
        if (stopped) return;
        const error = asApiError(e);
        delay = retryDelay(error, ++failures);
        setState((s) => ({ data: s.data, error, retryAt: delay === null ? undefined : Date.now() + delay }));
      } finally {
        inFlight = false;
      }
      if (again) {
        again = false;
        void run();
        return;
      }
      polling = delay !== null;
      if (delay === null) return;
      timer = setTimeout(run, document.hidden ? Math.max(delay, HIDDEN_MS) : delay);
    };
    kick.current = () => void run();
    const onVisible = () => {
      if (!document.hidden && polling) void run();
    };
    document.addEventListener("visibilitychange", onVisible);
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [key, enabled]);
  return { ...state, refresh: () => kick.current() };
}
