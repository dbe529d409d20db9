/**
 * A stand-in for the EC2 instance metadata service on 127.0.0.1, strict like an instance whose
 * launch template requires IMDSv2: PUT /latest/api/token gives a token, every GET without a
 * valid one is 401. `spotNotice` is what spot/instance-action says (404 while undefined);
 * `instanceId` what instance-id says; the instance is a c7g.xlarge on spot.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeImds {
  endpoint: string;
  spotNotice: string | undefined;
  instanceId: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeImds(): Promise<FakeImds> {
  const token = "imds-token-1";
  const state: Omit<FakeImds, "endpoint" | "close"> = {
    spotNotice: undefined,
    instanceId: "i-0000000000000000a",
    requests: [],
  };
  const server = createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`);
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      if (!req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return void res.writeHead(400).end();
      return void res.writeHead(200).end(token);
    }
    if (req.headers["x-aws-ec2-metadata-token"] !== token) return void res.writeHead(401).end();
    if (req.method === "GET" && req.url === "/latest/meta-data/spot/instance-action") {
      if (state.spotNotice === undefined) return void res.writeHead(404).end("Not Found");
      return void res.writeHead(200, { "content-type": "text/plain" }).end(state.spotNotice);
    }
    const text: Record<string, string> = {
      "/latest/meta-data/instance-id": state.instanceId,
      "/latest/meta-data/instance-type": "c7g.xlarge",
      "/latest/meta-data/instance-life-cycle": "spot",
    };
    if (req.method === "GET" && req.url && text[req.url] !== undefined)
      return void res.writeHead(200, { "content-type": "text/plain" }).end(text[req.url]);
    res.writeHead(404).end("Not Found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
