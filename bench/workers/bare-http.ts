/** The ceiling for one Node process: a bare node:http server that reads the body, parses it as JSON and answers 202. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serveRpc } from "../harness/rpc.ts";

let parsed = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      parsed++;
      res.writeHead(202, { "content-length": "0" });
    } catch {
      res.writeHead(400, { "content-length": "0" });
    }
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  serveRpc({ counts: () => ({ parsed }) }, { url: `http://127.0.0.1:${port}` });
});
process.on("SIGTERM", () => process.exit(0));
