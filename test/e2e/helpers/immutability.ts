// Shared pieces of the immutability e2e suite (test/e2e/immutability-*.test.ts): manifests,
// reading an object back with `kubectl get -o jsonpath`, and precise assertions on what
// kubectl printed when the apiserver relayed (or did not relay) Bulwark's answer.

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, type KubectlResult, type UserName } from '../../../harness/context.ts';
import { kubectlOk } from '../../../harness/kubectl.ts';
import { REPO_ROOT } from '../../../harness/paths.ts';
import { DENIED_BY_BULWARK } from './denied.ts';

/** What kubectl prints (on stderr) when the apiserver relays a denial by Bulwark (any of its entries). */
export const DENIED = DENIED_BY_BULWARK;
const LOCKED = `(labelled ${LOCK_LABEL.key}=${LOCK_LABEL.value})`;
/** The sentence Bulwark appends when a request touches the lock label. */
export const UNLOCK_IS_A_CHANGE = `removing or changing the ${LOCK_LABEL.key} label is itself a change`;
export const LOCK_LABELS: Record<string, string> = { [LOCK_LABEL.key]: LOCK_LABEL.value };
/** jsonpath of the lock label's value. */
export const LOCK_LABEL_JSONPATH = `{.metadata.labels.${LOCK_LABEL.key.replace(/\./g, '\\.')}}`;
/** A digest-pinned image that is never pulled (there is no kubelet). */
export const IMAGE = `registry.local/x@sha256:${createHash('sha256').update('bulwark-e2e').digest('hex')}`;

/** An object as kubectl names it: `kubectl get <resource> <name> [-n <namespace>]`. */
export interface Ref {
  resource: string;
  name: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
}

/** How Bulwark names an object in its messages: `Kind ns/name`, or `Kind name` when cluster-scoped. */
export function target(kind: string, ref: Ref): string {
  return `${kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

export function yaml(...objects: object[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export function configMap(
  ref: Pick<Ref, 'name' | 'namespace'>,
  data: Record<string, string>,
  options: { locked?: boolean; labels?: Record<string, string>; finalizers?: string[] } = {},
): Record<string, unknown> {
  const labels = { ...options.labels, ...(options.locked === false ? {} : LOCK_LABELS) };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(options.finalizers ? { finalizers: options.finalizers } : {}),
    },
    data,
  };
}

/** `kubectl get ... -o jsonpath=TEMPLATE` as admin; throws if the object cannot be read. */
export async function jsonpath(ref: Ref, template: string): Promise<string> {
  return kubectlOk(
    kubectl,
    ['get', ref.resource, ref.name, '-o', `jsonpath=${template}`],
    ref.namespace ? { namespace: ref.namespace } : {},
  );
}

/** What a denied (or dry-run) request must leave exactly as it was. */
export interface Stamp {
  uid: string;
  resourceVersion: string;
  /** The output of a content jsonpath, `{.data}` by default. */
  content: string;
}

const STAMP_FIELDS = '{.metadata.uid}{"\\t"}{.metadata.resourceVersion}{"\\t"}';

function parseStamp(line: string): Stamp {
  const [uid = '', resourceVersion = '', ...content] = line.split('\t');
  return { uid, resourceVersion, content: content.join('\t') };
}

/**
 * uid, resourceVersion and content in one `kubectl get -o jsonpath`: an object that keeps
 * all three was neither replaced nor written to.
 */
export async function stamp(ref: Ref, content = '{.data}'): Promise<Stamp> {
  const result = parseStamp(await jsonpath(ref, `${STAMP_FIELDS}${content}`));
  expect(result.uid, `uid of ${ref.resource}/${ref.name}`).not.toBe('');
  return result;
}

/** The stamps of every `resource` in `namespace`, by name, with one kubectl call. */
export async function stampAll(namespace: string, resource: string, content = '{.data}'): Promise<Map<string, Stamp>> {
  const template = `{range .items[*]}{.metadata.name}{"\\t"}${STAMP_FIELDS}${content}{"\\n"}{end}`;
  const out = await kubectlOk(kubectl, ['get', resource, '-o', `jsonpath=${template}`], { namespace });
  const stamps = new Map<string, Stamp>();
  for (const line of out.split('\n').filter(Boolean)) {
    const tab = line.indexOf('\t');
    stamps.set(line.slice(0, tab), parseStamp(line.slice(tab + 1)));
  }
  return stamps;
}

/**
 * The object is still there, the same object (uid), nothing was written to it
 * (resourceVersion) and its content reads the same; returns what was read.
 */
export async function expectUntouched(ref: Ref, before: Stamp | undefined, content = '{.data}'): Promise<Stamp> {
  expect(before, `no stamp of ${ref.resource}/${ref.name} taken before`).toBeDefined();
  const after = await stamp(ref, content);
  expect(after, `${ref.resource}/${ref.name} after a denied or dry-run request`).toEqual(before);
  return after;
}

/** kubectl `args` as `user` (admin by default), in the namespace of `ref` if it has one. */
export function kubectlOn(
  ref: Ref,
  args: string[],
  options: { user?: UserName; input?: string } = {},
): Promise<KubectlResult> {
  return kubectl(args, { ...options, ...(ref.namespace ? { namespace: ref.namespace } : {}) });
}

/** Creates objects as admin (creating a locked object is always allowed). */
export async function create(...objects: object[]): Promise<void> {
  await kubectlOk(kubectl, ['create', '-f', '-'], { input: yaml(...objects) });
}

/**
 * The request failed, and because Bulwark denied it: exit code non-zero, the apiserver's
 * webhook denial on stderr, Bulwark's message naming the object as locked, and every
 * `fragment` (changed paths, "cannot be deleted", ...). A fail-closed denial ("could not
 * decide") is not an immutability denial and fails the assertion.
 */
export function expectDenied(result: KubectlResult, objectTarget: string, ...fragments: string[]): void {
  const shown = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, shown).not.toBe(0);
  expect(result.stderr, shown).toMatch(DENIED);
  expect(result.stderr, shown).toContain(`${objectTarget} is locked ${LOCKED}`);
  expect(result.stderr, shown).not.toContain('could not decide');
  for (const fragment of fragments) expect(result.stderr, shown).toContain(fragment);
}

/** A change denied: `this update would change <paths>`, `this scale update ...` for a subresource. */
export function expectChangeDenied(
  result: KubectlResult,
  objectTarget: string,
  changes: string,
  subresource?: string,
): void {
  expectDenied(result, objectTarget, `this ${subresource ? `${subresource} ` : ''}update would change ${changes}`);
}

export function expectDeleteDenied(result: KubectlResult, objectTarget: string): void {
  expectDenied(result, objectTarget, `${objectTarget} is locked ${LOCKED} and cannot be deleted`);
}

export function expectAllowed(result: KubectlResult): void {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
  expect(result.stderr).not.toMatch(DENIED);
}

/** The object no longer exists (kubectl get answers NotFound). */
export async function expectGone(ref: Ref): Promise<void> {
  const result = await kubectlOn(ref, ['get', ref.resource, ref.name, '-o', 'name']);
  expect(result.code, result.stdout).not.toBe(0);
  expect(result.stderr).toContain('NotFound');
}

/**
 * Applies a test CRD from test/fixtures/crds (group e2e.bulwark.dev) and waits until its
 * objects can be listed. Established is not yet servable: for a moment the new resource
 * answers 429 ("storage is (re)initializing"), so the list is retried.
 */
export async function ensureTestCrd(plural: string, deadlineMs = 30_000): Promise<void> {
  const file = join(REPO_ROOT, 'test', 'fixtures', 'crds', `${plural}.e2e.bulwark.dev.yaml`);
  await kubectlOk(kubectl, ['apply', '-f', file]);
  await kubectlOk(kubectl, ['wait', '--for=condition=Established', '--timeout=30s', '-f', file], { timeoutMs: 40_000 });
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const result = await kubectl(['get', `${plural}.e2e.bulwark.dev`, '--all-namespaces', '-o', 'name']);
    if (result.code === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${plural}.e2e.bulwark.dev is Established but cannot be listed: ${result.stderr.trim()}`);
    await sleep(100);
  }
}

/** The test CRD of kind Widget (spec.size, spec.replicas; status and scale subresources). */
export async function ensureWidgetCrd(deadlineMs = 30_000): Promise<void> {
  await ensureTestCrd('widgets', deadlineMs);
}
