/** Lambda entry of the EC2 state-change forwarder (infra/monitoring.ts creates it when a central bus is set). */
import {
  Ec2TagReader,
  EventBusSink,
  forwardStateChanges,
  type InstanceStateChange,
} from "../ec2-forwarder.ts";

const tags = new Ec2TagReader();
let sink: EventBusSink | undefined;

export async function handler(event: InstanceStateChange): Promise<{ forwarded: number }> {
  if (!process.env.TESSERA_CENTRAL_BUS_ARN) throw new Error("TESSERA_CENTRAL_BUS_ARN is not set");
  sink ??= new EventBusSink(process.env.TESSERA_CENTRAL_BUS_ARN);
  const forwarded = await forwardStateChanges([event], tags, sink, {
    tagKey: process.env.TESSERA_AGENT_TAG_KEY ?? "tessera:grid",
    tagValue: process.env.TESSERA_AGENT_TAG_VALUE ?? "",
  });
  return { forwarded };
}
