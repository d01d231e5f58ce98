// The body of `bulwark review`, imported only when the command runs. The review is an
// AdmissionReview file (or stdin), or is built from manifests (--old/--new, or --parent
// for scale and eviction) as the apiserver would send it; facts the cluster would supply
// (namespace labels, the parent) come from flags; image signatures from the registry, or
// from an OCI layout directory (--oci-layout). Decided by review/decide.ts, the
// webhook's own runner. Exit 0 allowed, 1 denied, 2 bad input.

import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { createReviewDecoder } from '../admission/decode.ts';
import type { AdmissionReviewRequest, KubeObject, Operation } from '../admission/types.ts';
import { defaultPolicyOf, policyAdminsOf } from '../config/default-policy.ts';
import { loadConfig } from '../config/load.ts';
import type { RequestFacts } from '../decision/facts.ts';
import { BaseError, isBulwarkError } from '../errors.ts';
import { createPolicyCompiler } from '../policy/compiler.ts';
import { loadPolicyFiles } from '../policy/load-files.ts';
import { PolicyStore } from '../policy/store.ts';
import { decide, noClusterFacts, type FactResolver } from '../review/decide.ts';
import { reviewFromManifests } from '../review/from-manifests.ts';
import { imageFacts, signatureSource } from './image-facts.ts';
import { toOverrides, type ParsedOptions } from './options.ts';
import { ATTESTATION_ASSUMED } from '../attestation/approval.ts';

export interface ReviewOptions extends ParsedOptions {
  old?: string;
  new?: string;
  parent?: string;
  subresource?: string;
  replicas?: number;
  operation?: Exclude<Operation, 'CONNECT'>;
  user?: string;
  groups?: string;
  namespaceLabels?: string;
  ociLayout?: string;
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function manifest(file: string | undefined): Promise<KubeObject | undefined> {
  if (file === undefined) return undefined;
  const object = parse(await readInput(file)) as unknown;
  if (typeof object !== 'object' || object === null || Array.isArray(object))
    throw new BaseError('CLI_USAGE', `${file} does not hold one manifest`);
  return object as KubeObject;
}

/** `env=prod,team=shop` -> labels. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new BaseError('CLI_USAGE', `--namespace-labels: expected key=value, got ${JSON.stringify(pair)}`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

async function reviewOf(file: string | undefined, o: ReviewOptions): Promise<AdmissionReviewRequest> {
  if (file !== undefined) return createReviewDecoder().parse(await readInput(file));
  const [oldObject, object, parent] = await Promise.all([manifest(o.old), manifest(o.new), manifest(o.parent)]);
  const previous = parent ?? oldObject;
  if (!previous && !object) throw new BaseError('CLI_USAGE', 'give an AdmissionReview file, or --old/--new manifests');
  return reviewFromManifests({
    ...(previous ? { oldObject: previous } : {}),
    ...(object ? { object } : {}),
    ...(o.operation ? { operation: o.operation } : {}),
    ...(o.subresource ? { subResource: o.subresource } : {}),
    ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
    ...(o.user ? { user: o.user } : {}),
    ...(o.groups ? { groups: o.groups.split(',') } : {}),
  });
}

export async function runReview(file: string | undefined, options: ReviewOptions): Promise<number> {
  try {
    const config = await loadConfig({ file: options.config, overrides: toOverrides(options) });
    const store = new PolicyStore({
      attestation: ATTESTATION_ASSUMED,
      compiler: createPolicyCompiler(),
      lockLabel: config.lockLabel,
      defaultImmutability: defaultPolicyOf(config),
      policyAdmins: policyAdminsOf(config),
      sources: [],
    });
    if (config.policiesDir) await loadPolicyFiles(store, config.policiesDir);
    const review = await reviewOf(file, options);
    const parent = options.parent ? await manifest(options.parent) : undefined;
    const namespaceLabels = options.namespaceLabels ? parseLabels(options.namespaceLabels) : undefined;
    const given: FactResolver = async (request, snapshot) => {
      const facts: RequestFacts = { ...(await noClusterFacts(request, snapshot)), now: Date.now() };
      if (parent) facts.parent = { status: 'found', object: parent };
      if (namespaceLabels) facts.namespaceLabels = namespaceLabels;
      return facts;
    };
    const registry = await signatureSource(options.ociLayout);
    const withImages = await imageFacts(registry, config.lockLabel, config.decisionTimeoutSeconds * 1000);
    const resolveFacts = withImages(given);
    const decided = await decide(review, { snapshot: () => store.snapshot(), resolveFacts });
    registry.close();
    process.stdout.write(`${JSON.stringify(decided.review, null, 2)}\n`);
    return decided.review.response.allowed ? 0 : 1;
  } catch (err) {
    const message = isBulwarkError(err) ? err.message : `cannot read ${file ?? 'input'}: ${(err as Error).message}`;
    process.stderr.write(`bulwark review: ${message}\n`);
    return 2;
  }
}
