export * from "./meta.ts";
export * from "./plugins.ts";
