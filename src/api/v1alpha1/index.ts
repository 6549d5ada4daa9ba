export * from "./meta.ts";
export * from "./plugins.ts";
export * from "./notifier.ts";
export * from "./action.ts";
export * from "./validation.ts";
export { customResourceDefinitions, openApiSchema, type CustomResourceDefinition } from "./crds.ts";
