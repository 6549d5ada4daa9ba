/** Actions: events that run commands by themselves (see src/api/v1alpha1/action.ts). */
export { ActionEngine, compileAction, SKIP_REASONS } from "./engine.ts";
export {
  ActionsStage,
  ACTIONS_STAGE,
  ADDRESSED_EXTENSION,
  ANSWERED_EXTENSION,
  fromEdge,
} from "./bus-stage.ts";
export type { ActionAnswer, ActionEngineOptions, ActionProblem, SkipReason } from "./engine.ts";
export { compileTemplate, quoteCommandLine, renderTemplate } from "./template.ts";
export type { CompiledTemplate, Rendered, TemplateCompilation } from "./template.ts";
