/**
 * The SDK keeps the API's response bodies as hand-written types (packages/client/src/types.ts)
 * so that it loads nothing of the server. This checks that every body the API's schemas allow
 * is a value of the SDK's type: a field renamed, retyped or made optional on one side fails
 * the type-check (`npm test`'s tsc step; at run time these expectations are no-ops). The SDK
 * is imported for its types only: no code of it loads here, and the SDK gains no dependency.
 */
import type {
  CancelSessionResponse,
  ResultsPage,
  SessionConfig,
  SessionCost,
  SessionInfo,
  SessionList,
  SessionStatus,
  SubmitResponse,
  TaskCounts,
  TaskError,
  TaskInfo,
  UploadsResponse,
  WireResult,
} from "@tessera/client";
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type {
  CancelSessionResponse as CancelSessionSchema,
  CreateSessionResponse,
  ResultsPageSchema,
  SessionConfigSchema,
  SessionCostSchema,
  SessionDetailSchema,
  SessionListSchema,
  SessionSchema,
  SubmitTasksResponse,
  TaskCountsSchema,
  TaskErrorSchema,
  TaskResultSchema,
  TaskSchema,
  UploadsResponse as UploadsSchema,
} from "../src/http/schemas.ts";

/** What the API sends for a schema: its parsed (output) type. */
type Body<S extends z.ZodType> = z.output<S>;

describe("the SDK's types of the API's bodies", () => {
  it("accept every body the API's response schemas allow", () => {
    expectTypeOf<Body<typeof SessionConfigSchema>>().toExtend<SessionConfig>();
    expectTypeOf<Body<typeof SessionSchema>>().toExtend<SessionInfo>();
    expectTypeOf<Body<typeof TaskCountsSchema>>().toExtend<TaskCounts>();
    expectTypeOf<Body<typeof SessionCostSchema>>().toExtend<SessionCost>();
    expectTypeOf<Body<typeof SessionDetailSchema>>().toExtend<SessionStatus>();
    expectTypeOf<Body<typeof CreateSessionResponse>>().toExtend<{ session: SessionInfo; created: boolean }>();
    expectTypeOf<Body<typeof SessionListSchema>>().toExtend<SessionList>();
    expectTypeOf<Body<typeof CancelSessionSchema>>().toExtend<CancelSessionResponse>();
    expectTypeOf<Body<typeof SubmitTasksResponse>>().toExtend<SubmitResponse>();
    expectTypeOf<Body<typeof TaskErrorSchema>>().toExtend<TaskError>();
    expectTypeOf<Body<typeof TaskSchema>>().toExtend<TaskInfo>();
    expectTypeOf<Body<typeof TaskResultSchema>>().toExtend<WireResult>();
    expectTypeOf<Body<typeof ResultsPageSchema>>().toExtend<ResultsPage>();
    expectTypeOf<Body<typeof UploadsSchema>>().toExtend<UploadsResponse>();
  });

  it("name the same states and statuses as the API", () => {
    expectTypeOf<SessionInfo["state"]>().toEqualTypeOf<Body<typeof SessionSchema>["state"]>();
    expectTypeOf<TaskInfo["status"]>().toEqualTypeOf<Body<typeof TaskSchema>["status"]>();
    expectTypeOf<WireResult["status"]>().toEqualTypeOf<Body<typeof TaskResultSchema>["status"]>();
    expectTypeOf<SessionConfig["priority"]>().toEqualTypeOf<Body<typeof SessionConfigSchema>["priority"]>();
  });
});
