/** Work-queue keys: "namespace/name" for namespaced objects, "name" for cluster-scoped ones. */
export interface ObjectKey {
  namespace?: string;
  name: string;
}

export function keyToString(key: ObjectKey): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

export function keyFromString(key: string): ObjectKey {
  const slash = key.indexOf("/");
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The key of a Kubernetes object, from its metadata. */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): ObjectKey {
  const name = obj.metadata?.name;
  if (!name) throw new Error("object has no metadata.name");
  const namespace = obj.metadata?.namespace;
  return namespace ? { namespace, name } : { name };
}
