export { TesseraError } from "./errors.ts";
export type { CallOptions, HttpOptions, RequestSigner } from "./http.ts";
export { HttpClient } from "./http.ts";
export { IndexSet } from "./index-set.ts";
export type { ResultsOptions, SubmitOptions, SubmitSummary, TaskResult, WaitOptions } from "./session.ts";
export { INLINE_PAYLOAD_BYTES, ResultStream, Session } from "./session.ts";
export type { CreateSessionOptions, TesseraOptions } from "./tessera.ts";
export { Tessera } from "./tessera.ts";
export type * from "./types.ts";
