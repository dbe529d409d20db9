import { describe, expect, it } from "vitest";
import { encodeFrame, FrameError, frameSplitter, parseFrame } from "./worker-protocol.ts";

describe("worker protocol frames", () => {
  it("writes one JSON line per message, whatever newlines its strings hold", () => {
    const frame = encodeFrame({
      type: "run",
      id: "1",
      handler: "h",
      input: '{"a":"x\\ny"}\n',
      attempt: 1,
      deadline: null,
      session: "s",
      index: 0,
    });
    expect(frame.endsWith("\n")).toBe(true);
    expect(frame.slice(0, -1)).not.toContain("\n");
    expect(JSON.parse(frame).input).toBe('{"a":"x\\ny"}\n');
  });

  it("splits a stream into lines across chunk boundaries, skipping blank ones", () => {
    const split = frameSplitter();
    expect(split.push(Buffer.from('{"type":"ready"'))).toEqual([]);
    expect(split.push(Buffer.from(',"protocol":1}\n\n{"a"'))).toEqual(['{"type":"ready","protocol":1}']);
    expect(split.push(Buffer.from(":1}\n"))).toEqual(['{"a":1}']);
    // A multi-byte character cut between two chunks is whole in its line.
    const euro = Buffer.from('"€"\n');
    expect([...split.push(euro.subarray(0, 2)), ...split.push(euro.subarray(2))]).toEqual(['"€"']);
  });

  it("refuses a line longer than the limit, before it is whole", () => {
    const split = frameSplitter(10);
    expect(() => split.push(Buffer.from("x".repeat(11)))).toThrow(FrameError);
  });

  it("parses the worker's messages, ignores unknown types, and refuses broken ones", () => {
    expect(parseFrame('{"type":"ready","protocol":1,"handlers":["a"]}')).toEqual({
      type: "ready",
      protocol: 1,
      handlers: ["a"],
    });
    expect(parseFrame('{"type":"result","id":"1"}')).toEqual({ type: "result", id: "1", output: null });
    expect(parseFrame('{"type":"error","id":"1","message":"bad","code":"INPUT_INVALID"}')).toEqual({
      type: "error",
      id: "1",
      code: "INPUT_INVALID",
      message: "bad",
    });
    expect(parseFrame('{"type":"log","id":"1","level":"loud","message":"m","fields":{"k":1}}')).toEqual({
      type: "log",
      id: "1",
      level: "info",
      message: "m",
      fields: { k: 1 },
    });
    expect(parseFrame('{"type":"progress","id":"1","done":0.5}')).toBeUndefined();
    for (const [line, why] of [
      ["not json", "not a JSON frame"],
      ["[1]", "must be a JSON object"],
      ['{"type":"ready","protocol":"1","handlers":[]}', "ready frame: protocol must be a number"],
      ['{"type":"ready","protocol":1,"handlers":[1]}', "ready frame: handlers must be a list of names"],
      ['{"type":"result","id":1}', "result frame: id must be a string"],
      ['{"type":"result","id":"1","output":{"price":1}}', "result frame: output must be a string or null"],
    ])
      expect(() => parseFrame(line!), line).toThrow(why!);
  });
});
