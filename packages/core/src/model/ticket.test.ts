import { describe, expect, it } from "vitest";
import { decodeTicket, encodeTicket } from "./ticket.ts";

describe("tickets", () => {
  it.each([
    ["ASCII", "plain"],
    ["accents", "héllo"],
    ["characters SQS refuses raw", "\uFFFE\uFFFF"],
    ["astral characters", "😀 \u{1F680}"],
    ["JSON specials", '"quotes" \\ and \n newlines'],
  ])("carry payloads with %s as pure ASCII and restore them exactly", (_, payload) => {
    const ticket = { tenant: "t", sessionId: "s", start: 7, count: 2, payloads: [payload, null] };
    const body = encodeTicket(ticket);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeTicket(body)).toEqual(ticket);
  });

  it.each([
    ["not json"],
    ['{"v":2,"t":"t","s":"s","c":0,"n":1}'],
    ['{"v":1,"t":"t","s":"s","c":-1,"n":1}'],
    ["null"],
  ])("rejects %s", (body) => {
    expect(decodeTicket(body)).toBeUndefined();
  });
});
