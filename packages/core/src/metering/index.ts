/** Metering of AWS calls: counts, DynamoDB capacity, writes per key, and list-price cost per task. */
export type { BillableUsage, PricedUsage, S3RequestClass } from "./billing.ts";
export { chunkedRequests, priceUsage, s3RequestClass, sqsBilledRequests } from "./billing.ts";
export type {
  CallMeterOptions,
  CallRecorder,
  MeterableClient,
  MeteredCall,
  ModelledLine,
} from "./call-meter.ts";
export { attachCallMeter, CallMeter } from "./call-meter.ts";
export type { CostReport, CostRow, CostTotals, OperationUsage } from "./cost-report.ts";
export { buildCostReport, formatCostTable } from "./cost-report.ts";
export type { CapacityUse, DynamoUsage } from "./dynamo-usage.ts";
export { CAPACITY_OPERATIONS, measureDynamoCall } from "./dynamo-usage.ts";
export type { AttributeValueShape } from "./item-size.ts";
export {
  attributeValueItemSizeBytes,
  attributeValueSizeBytes,
  isAttributeValue,
  isAttributeValueItem,
  itemSizeBytes,
  nativeItemSizeBytes,
  nativeValueSizeBytes,
  numberSizeBytes,
  readUnits,
  transactionalUnits,
  valueSizeBytes,
  writeUnits,
} from "./item-size.ts";
export type { PriceTable } from "./prices.ts";
export { AWS_LIST_PRICES, ec2HourlyRate } from "./prices.ts";
export type { SessionCost, SessionCostLine, UsageCounters } from "./session-usage.ts";
export {
  AgentTime,
  addCounters,
  counterName,
  priceSessionUsage,
  SessionUsageRecorder,
} from "./session-usage.ts";
export type { PartitionKeyNames } from "./write-requests.ts";
