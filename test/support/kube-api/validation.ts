/** Generic object-metadata validation (names, labels, annotations), worded like the API server. */

import type { StatusCause } from "./errors.ts";
import type { KubeObject } from "./objects.ts";

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function validateName(name: string, rule: "subdomain" | "label"): string | undefined {
  if (rule === "label") {
    if (name.length > 63) return "must be no more than 63 characters";
    return dns1123Label.test(name) ? undefined : labelMessage;
  }
  if (name.length > 253) return "must be no more than 253 characters";
  return dns1123Subdomain.test(name) ? undefined : subdomainMessage;
}

function validateQualifiedKey(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !dns1123Subdomain.test(prefix))) {
    return "prefix part " + subdomainMessage;
  }
  if (name.length === 0 || name.length > 63 || !qualifiedNamePart.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  }
  return undefined;
}

function invalidCause(field: string, value: string, why: string): StatusCause {
  return { reason: "FieldValueInvalid", field, message: `Invalid value: "${value}": ${why}` };
}

/** Checks name, labels and annotations; returns the causes of a 422 (empty when valid). */
export function validateMetadata(obj: KubeObject, nameRule: "subdomain" | "label"): StatusCause[] {
  const causes: StatusCause[] = [];
  const { name, labels, annotations } = obj.metadata;
  if (!name) {
    causes.push({
      reason: "FieldValueRequired",
      field: "metadata.name",
      message: "Required value: name or generateName is required",
    });
  } else {
    const why = validateName(name, nameRule);
    if (why) causes.push(invalidCause("metadata.name", name, why));
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    const keyProblem = validateQualifiedKey(key);
    if (keyProblem) causes.push(invalidCause("metadata.labels", key, keyProblem));
    if (typeof value !== "string" || value.length > 63 || !labelValue.test(value)) {
      causes.push(
        invalidCause(
          "metadata.labels",
          String(value),
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    const keyProblem = validateQualifiedKey(key);
    if (keyProblem) causes.push(invalidCause("metadata.annotations", key, keyProblem));
    annotationBytes += key.length + String(value).length;
  }
  if (annotationBytes > 256 * 1024) {
    causes.push({
      reason: "FieldValueTooLong",
      field: "metadata.annotations",
      message: "Too long: must have at most 262144 bytes",
    });
  }
  return causes;
}
