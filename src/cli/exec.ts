/** `patchbay exec`: POST /commands to a running Patchbay and print the answer like a shell would. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_UNREACHABLE = 3;

interface CommandAnswer {
  status?: string;
  executor?: string;
  output?: string;
  truncated?: boolean;
  error?: { code: string; message: string };
}

export async function execCommand(options: {
  command: string;
  url: string;
  token: string | undefined;
}): Promise<number> {
  let response: Response;
  try {
    response = await fetch(new URL("/commands", options.url), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: JSON.stringify({ command: options.command, user: process.env.USER ?? "cli" }),
      signal: AbortSignal.timeout(10 * 60_000),
    });
  } catch (err) {
    const cause = networkErrorCode(err) ?? (err as Error).message;
    console.error(`patchbay: cannot reach Patchbay at ${options.url} (${cause}). Is 'npm start' running?`);
    return EXIT_UNREACHABLE;
  }
  const text = await response.text();
  let answer: CommandAnswer;
  try {
    answer = JSON.parse(text) as CommandAnswer;
  } catch {
    console.error(
      `patchbay: ${options.url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
    return EXIT_FAILED;
  }
  if (answer.output)
    process.stdout.write(answer.output.endsWith("\n") ? answer.output : `${answer.output}\n`);
  if (response.ok && answer.status === "ok") return EXIT_OK;
  const reason = answer.error?.message ?? `HTTP ${response.status}`;
  console.error(`patchbay: ${answer.status ?? answer.error?.code ?? "error"}: ${reason}`);
  return EXIT_FAILED;
}

/** fetch wraps the socket error; with happy eyeballs it is an AggregateError of one per address. */
function networkErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.find((inner) => inner.code)?.code ?? cause?.message;
}
