import { buildApp } from "fauxqs";

/** A running fauxqs (SQS + S3 emulator), in this process. */
export interface FauxqsEmulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs in-process on a free port bound to 127.0.0.1 (its own `startFauxqs` binds
 * 0.0.0.0, so the app is built and bound here). Queues and buckets are created through the
 * SDK from the grid definition, exactly as on AWS. State is in memory: fauxqs persists only
 * through `startFauxqs`, which listens on every interface, and emulators here listen on
 * loopback only.
 */
export async function startFauxqsEmulator(options: { port?: number } = {}): Promise<FauxqsEmulator> {
  const app = buildApp({ logger: false, host: "127.0.0.1" });
  const address = await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  const port = Number(new URL(address).port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await app.close();
    },
  };
}
