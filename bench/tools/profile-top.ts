/**
 * `node bench/tools/profile-top.ts <file.cpuprofile | dir> [count]` — the functions with the most
 * self time in a V8 CPU profile (as written by `npm run bench -- --profile`), with their share.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

const [target, count = "25"] = process.argv.slice(2);
if (!target) {
  console.error("usage: node bench/tools/profile-top.ts <file.cpuprofile | directory> [count]");
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(target, f))
  : [target];

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url.replace(/^file:\/\//, "").replace(process.cwd() + "/", "")}:${lineNumber + 1}`
      : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  console.log(`${file}: ${total} samples`);
  for (const [name, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
    console.log(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
}
