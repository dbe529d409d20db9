export {
  FakeClock,
  MemoryBlobStore,
  MemoryTaskStore,
  MemoryTicketQueue,
  SystemClock,
} from "./adapters/memory/index.ts";
export type { DispatcherHooks, DispatcherOptions, TaskContext, TaskRunner } from "./dispatch/dispatcher.ts";
export { ABANDON_GRACE_MS, Dispatcher } from "./dispatch/dispatcher.ts";
export type { FailureGroup, FailureSummary } from "./dispatch/failures.ts";
export { summarizeFailures } from "./dispatch/failures.ts";
export type { GridPorts } from "./dispatch/grid-ports.ts";
export { listSessionGroups, sessionGroups } from "./dispatch/groups.ts";
export type { HeldLease, TaskRun } from "./dispatch/held-lease.ts";
export type { SessionProgress } from "./dispatch/progress.ts";
export { getSessionProgress } from "./dispatch/progress.ts";
export type { ReapOptions, ReapReport, ReapResume, SessionWalk } from "./dispatch/reaper.ts";
export { reap } from "./dispatch/reaper.ts";
export type { ResultsPage, ResultsPageOptions } from "./dispatch/results-page.ts";
export { readResultsPage } from "./dispatch/results-page.ts";
export type { ResultsReaderOptions } from "./dispatch/results-reader.ts";
export { ResultsReader } from "./dispatch/results-reader.ts";
export type { SessionHistory } from "./dispatch/session-history.ts";
export { readSessionHistory } from "./dispatch/session-history.ts";
export type { FilteredSessionPage, SessionFilter, SessionSummary } from "./dispatch/session-list.ts";
export { listSessionsWhere, summarizeSession, summarizeSessions } from "./dispatch/session-list.ts";
export { SessionUsage } from "./dispatch/session-usage.ts";
export type { CancelReport, CreatedSession } from "./dispatch/sessions.ts";
export {
  CLOSE_GRACE_MS,
  cancelSession,
  closeSession,
  createSession,
  getSession,
  isSessionSealed,
  sealSession,
} from "./dispatch/sessions.ts";
export type { SubmitReport } from "./dispatch/submitter.ts";
export { submitTasks } from "./dispatch/submitter.ts";
export { TaskFailure, taskFailureCode } from "./dispatch/task-failure.ts";
export type { TaskListOptions, TaskListPage, TaskSummary } from "./dispatch/task-list.ts";
export { listTasks } from "./dispatch/task-list.ts";
export type { TaskPayload } from "./dispatch/tasks.ts";
export { cancelTask, getTask } from "./dispatch/tasks.ts";
export type { AckMode } from "./dispatch/ticket-acker.ts";
export type { BatchOutcome, PollLoopOptions } from "./dispatch/worker-loop.ts";
export { processBatch, runPollLoop } from "./dispatch/worker-loop.ts";
export { backoffDelayMs } from "./engine/backoff.ts";
export type { PlannedChunk } from "./engine/chunking.ts";
export { planChunks } from "./engine/chunking.ts";
export type { HistoryPoint } from "./engine/history.ts";
export * as keys from "./engine/keys.ts";
export { isLeaseLive, needsHeartbeat } from "./engine/lease.ts";
export type { TaskCounts } from "./engine/progress.ts";
export { countChunk, finishedCount, zeroCounts } from "./engine/progress.ts";
export type {
  ClaimPlan,
  CommitPlan,
  HeartbeatPlan,
  ReapPlan,
  RunnableTask,
  SlotResult,
  TicketAction,
} from "./engine/transitions.ts";
export {
  applyCommit,
  deadLetter,
  planClaim,
  planHeartbeat,
  planReap,
  requestCancel,
} from "./engine/transitions.ts";
export {
  CursorExpiredError,
  EmulatorError,
  ErrorCode,
  GridError,
  InvariantError,
  isGridError,
  NotFoundError,
  SessionConflictError,
  SessionNotOpenError,
  TaskConflictError,
  TooLargeError,
  TransientError,
  ValidationError,
} from "./errors.ts";
export type { CapacityApi, CapacityRequest, CapacityResponse, Market } from "./fleet/capacity.ts";
export { CapacityLauncher, errorCode, RETRYABLE_LAUNCH_ERRORS } from "./fleet/capacity.ts";
export type { AgentStates, BilledAgent, FleetControllerOptions, PoolPass } from "./fleet/controller.ts";
export { agentStatesOf, billedAgentsOf, describePass, FleetController } from "./fleet/controller.ts";
export type { BootRecord, FailedBoots } from "./fleet/failed-boots.ts";
export type {
  InstanceCount,
  LaunchEntry,
  PoolCost,
  PoolStatus,
  PoolUsage,
  ShortfallEntry,
  UsageLine,
} from "./fleet/fleet-status.ts";
export { FleetStatusBoard, priceFleetUsage } from "./fleet/fleet-status.ts";
export type {
  BacklogPort,
  FleetPort,
  LaunchError,
  LaunchReport,
  Placement,
  ScalerLock,
  ScalerLockGrant,
} from "./fleet/ports.ts";
export {
  type Backlog,
  DEFAULT_FLEET_POLICY,
  decideFleet,
  type FleetAgent,
  type FleetDecision,
  type FleetPolicy,
  paidUntil,
  targetAgents,
} from "./fleet/scaler.ts";
export { assertId, parseTaskId } from "./model/ids.ts";
export type { ReaperTiming, SessionConfig } from "./model/limits.ts";
export {
  DEFAULT_REAPER_TIMING,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_SESSION_CONFIG,
  Limits,
} from "./model/limits.ts";
export type {
  ChunkKey,
  ChunkPayload,
  ChunkRecord,
  CompletionEntry,
  GroupRecord,
  SessionKey,
  SessionRecord,
  TaskError,
  TaskOutcome,
} from "./model/records.ts";
export type { ResultsCursor } from "./model/results-cursor.ts";
export { CURSOR_MAX_AGE_MS, DeliveredSet, decodeCursor, encodeCursor } from "./model/results-cursor.ts";
export {
  CreateSessionInput,
  IdSchema,
  parseInput,
  SessionConfigInput,
  SubmitBatchInput,
  TaskInputSchema,
} from "./model/schemas.ts";
export {
  isTerminalStatus,
  PRIORITY_ORDER,
  Priority,
  SessionState,
  SlotCode,
  TaskStatus,
} from "./model/status.ts";
export type { AttemptView, TaskDetail, TaskInput, TaskView } from "./model/task.ts";
export type { Ticket } from "./model/ticket.ts";
export { decodeTicket, encodeTicket } from "./model/ticket.ts";
export type { BlobStore } from "./ports/blob-store.ts";
export type { Clock } from "./ports/clock.ts";
export type {
  ChunkWrite,
  CompletionPage,
  GroupPage,
  InsertResult,
  SessionPage,
  TaskStore,
  WriteResult,
} from "./ports/task-store.ts";
export type {
  OutgoingTicket,
  ReceivedTicket,
  ReceiveOptions,
  TicketQueue,
  VisibilityChange,
} from "./ports/ticket-queue.ts";
export type {
  GridDefinition,
  GridOptions,
  IndexDefinition,
  KeyAttribute,
  QueueDefinition,
  TableDefinition,
} from "./resources.ts";
export {
  ACTIVE_INDEX,
  allQueueNames,
  DUE_INDEX,
  defineGrid,
  logicalQueueOf,
  queueUrlsOf,
  TENANT_INDEX,
} from "./resources.ts";
