/** A loopback stand-in for Slack's Web API (web-api.ts) and the Block Kit limits it checks (block-kit.ts). */
export {
  DEFAULT_APP_TOKEN,
  DEFAULT_BOT_TOKEN,
  DEFAULT_CHANNEL,
  startSlackApiStandIn,
  type MethodAnswer,
  type MethodHandler,
  type MethodRequest,
  type RecordedCall,
  type SlackApiStandIn,
  type SlackApiStandInOptions,
  type StandInChannel,
  type StoredMessage,
  type TokenKind,
} from "./web-api.ts";
export { BLOCK_KIT_LIMITS, blockProblems } from "./block-kit.ts";
