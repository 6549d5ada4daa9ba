/**
 * Where secret values (webhook URLs, tokens) come from. The router and notifiers take a resolved string;
 * this is the one place that knows a value may live in an environment variable, a file or a Secret.
 */
import { readFile } from "node:fs/promises";
import type { ValueSource } from "../api/v1alpha1/index.ts";

export interface SecretResolver {
  /** The value, or a rejection whose message names the source and what is wrong with it. */
  resolve(source: ValueSource, namespace?: string): Promise<string>;
}

export class SecretResolutionError extends Error {
  override name = "SecretResolutionError";
}

/** For `patchbay local`: inline values, environment variables and files; no cluster. */
export class LocalSecretResolver implements SecretResolver {
  readonly #env: NodeJS.ProcessEnv;

  constructor(options: { env?: NodeJS.ProcessEnv } = {}) {
    this.#env = options.env ?? process.env;
  }

  async resolve(source: ValueSource, _namespace?: string): Promise<string> {
    const origins = (["value", "secretKeyRef", "env", "file"] as const).filter(
      (key) => source[key] !== undefined,
    );
    if (origins.length !== 1) {
      throw new SecretResolutionError(
        `a value source sets exactly one of value, secretKeyRef, env, file (got ${origins.join(", ") || "none"})`,
      );
    }
    if (source.value !== undefined) return source.value;
    if (source.secretKeyRef !== undefined) {
      const { name, key } = source.secretKeyRef;
      throw new SecretResolutionError(
        `secretKeyRef ${name}/${key}: secretKeyRef needs the operator; in local runs use env or file`,
      );
    }
    if (source.env !== undefined) {
      const value = this.#env[source.env];
      if (value === undefined || value === "") {
        throw new SecretResolutionError(`environment variable ${source.env} is not set or empty`);
      }
      return value;
    }
    const file = source.file as string;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new SecretResolutionError(
        `cannot read file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    // Files written by `echo` or editors end in a newline that is never part of a URL or token.
    const value = text.replace(/\r?\n$/, "");
    if (value === "") throw new SecretResolutionError(`file ${file} is empty`);
    return value;
  }
}
