export type { AgentOptions, AgentState, AgentStats } from "./agent.ts";
export { Agent } from "./agent.ts";
export type { CommandOptions } from "./command-runner.ts";
export { commandRunner } from "./command-runner.ts";
export type { HealthServer } from "./health.ts";
export { startHealthServer } from "./health.ts";
