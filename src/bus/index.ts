/** The event bus: events stored before they are acknowledged, delivered to notifiers from durable subscriptions. */
export { ACK, BusUnavailableError } from "./event-bus.ts";
export type {
  BusStats,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  DropReason,
  EventBus,
  PublishOptions,
  PublishOutcome,
  Settlement,
  SharedMap,
  SubscriptionOptions,
  SubscriptionStats,
} from "./event-bus.ts";
export { MemoryBus, type MemoryBusOptions } from "./memory-bus.ts";
export { JetStreamBus, type JetStreamBusOptions } from "./jetstream-bus.ts";
export { EventBusConfigError, jetStreamOptions, openEventBus, type OpenEventBusOptions } from "./config.ts";
export { settlementFor, MAX_RETRY_AFTER_MS, type RetryPolicy } from "./retry-policy.ts";
export { messageId, nameToken, tokenToName } from "./keys.ts";
export { BusNotifiers, type DeliveryRouting } from "./notifier-delivery.ts";
