export { TesseraError } from "./errors.ts";
export type { CallOptions, HttpOptions, RequestSigner } from "./http.ts";
export { HttpClient } from "./http.ts";
export { IndexSet } from "./index-set.ts";
export type { Connection } from "./profile.ts";
export { profilePath, resolveConnection, UsageError } from "./profile.ts";
export type {
  FailedResult,
  ResultsOptions,
  SucceededResult,
  TaskResult,
  UnavailableResult,
} from "./result-stream.ts";
export { ResultStream } from "./result-stream.ts";
export type { SubmitOptions, SubmitSummary, WaitOptions } from "./session.ts";
export { INLINE_PAYLOAD_BYTES, Session } from "./session.ts";
export type { CreateSessionOptions, TesseraOptions } from "./tessera.ts";
export { Tessera } from "./tessera.ts";
export type * from "./types.ts";
