export * from "./meta.ts";
export * from "./plugins.ts";
export * from "./notifier.ts";
export * from "./validation.ts";
