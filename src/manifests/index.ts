export { loadManifests, addDocuments } from "./load.ts";
export type { ManifestSet, Located } from "./load.ts";
