/** Waits for a condition instead of sleeping a fixed time (one helper for plugin and host tests). */
export { waitFor } from "../../plugins/testing/index.ts";
