// Garbled AdmissionReviews, generated reproducibly from a seed: captured reviews with
// fields retyped, deleted or added (the known fields most often), numbers too exact for
// a double (the lossless parser's path), bodies cut short or oversized.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../src/json/parse.ts';
import { rawNumber } from '../../src/json/numbers.ts';
import { REVIEWS_DIR, reviewNames } from './fixtures.ts';

/** mulberry32: a small seeded PRNG, enough for test inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Json = Record<string, any>;

const KNOWN_PATHS = [
  'apiVersion',
  'kind',
  'request',
  'request.uid',
  'request.kind',
  'request.kind.group',
  'request.kind.kind',
  'request.resource',
  'request.resource.resource',
  'request.resource.version',
  'request.subResource',
  'request.requestKind',
  'request.requestResource',
  'request.name',
  'request.namespace',
  'request.operation',
  'request.userInfo',
  'request.userInfo.username',
  'request.userInfo.groups',
  'request.userInfo.groups.0',
  'request.userInfo.extra',
  'request.dryRun',
  'request.options',
  ...['object', 'oldObject'].flatMap((o) => [
    `request.${o}`,
    `request.${o}.apiVersion`,
    `request.${o}.kind`,
    `request.${o}.metadata`,
    `request.${o}.metadata.name`,
    `request.${o}.metadata.labels`,
    `request.${o}.metadata.labels.app`,
    `request.${o}.metadata.annotations`,
    `request.${o}.metadata.annotations.kubectl.kubernetes.io/last-applied-configuration`,
    `request.${o}.metadata.finalizers`,
    `request.${o}.metadata.ownerReferences`,
    `request.${o}.metadata.ownerReferences.0`,
    `request.${o}.metadata.managedFields`,
    `request.${o}.metadata.managedFields.0.fieldsV1`,
    `request.${o}.metadata.deletionTimestamp`,
    `request.${o}.metadata.generation`,
    `request.${o}.spec`,
    `request.${o}.spec.containers`,
    `request.${o}.spec.containers.0.image`,
    `request.${o}.spec.template.spec.containers`,
    `request.${o}.data`,
  ]),
];

function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 1 ? 11 : 14));
  switch (pick) {
    case 0:
      return true;
    case 1:
      return false;
    case 2:
      return null;
    case 3:
      return Math.floor(random() * 2000) - 1000;
    case 4:
      return random() * 1e6;
    case 5:
      return '';
    case 6:
      return `s${Math.floor(random() * 1e6).toString(36)}`;
    case 7:
      return rawNumber('9007199254740993');
    case 8:
      return rawNumber(`1e${Math.floor(random() * 500)}`);
    case 9:
      return 'CREATE';
    case 10:
      return [];
    case 11:
      return [randomValue(random, depth + 1), randomValue(random, depth + 1)];
    case 12:
      return { a: randomValue(random, depth + 1) };
    default:
      return { 'x.io/k': randomValue(random, depth + 1), n: rawNumber('12345678901234567890') };
  }
}

/** Walks a dotted path whose segments may themselves hold dots (annotation keys): tries the longest key first. */
function parentOf(root: Json, path: string): { parent: Json | unknown[]; key: string } | undefined {
  const parts = path.split('.');
  let node: unknown = root;
  let i = 0;
  while (i < parts.length - 1) {
    if (typeof node !== 'object' || node === null) return undefined;
    let step = 1;
    for (let j = parts.length - 1; j > i; j--) {
      if (parts.slice(i, j).join('.') in (node as Json)) {
        step = j - i;
        break;
      }
    }
    const key = parts.slice(i, i + step).join('.');
    if (i + step >= parts.length) return { parent: node as Json, key };
    node = (node as Json)[key];
    i += step;
  }
  return typeof node === 'object' && node !== null
    ? { parent: node as Json, key: parts[parts.length - 1]! }
    : undefined;
}

/** Every path to a value in a document, dotted. */
function allPaths(value: unknown, prefix = '', out: string[] = []): string[] {
  if (typeof value !== 'object' || value === null || 'rawJSON' in value) return out;
  for (const [k, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.push(path);
    if (out.length < 400) allPaths(v, path, out);
  }
  return out;
}

function mutate(review: Json, random: () => number): void {
  const kind = random();
  const paths = kind < 0.6 ? KNOWN_PATHS : allPaths(review);
  const path = paths[Math.floor(random() * paths.length)]!;
  const at = parentOf(review, path);
  if (!at || Object.isFrozen(at.parent)) return; // a raw number leaf
  const { parent, key } = at;
  if (kind > 0.9) delete (parent as Json)[key];
  else (parent as Json)[key] = randomValue(random);
}

export interface FuzzCase {
  /** Which capture it came from. */
  source: string;
  body: string;
  /** The review as sent (undefined when the body is not JSON). */
  review?: Json;
  /** Whether the object was given a field its old version lacks (a real change). */
  changed?: boolean;
}

export function* fuzzReviews(seed: number, count: number, maxBodyBytes: number): Generator<FuzzCase> {
  const random = seededRandom(seed);
  const sources = reviewNames().map((name) => ({
    name,
    text: readFileSync(join(REVIEWS_DIR, `${name}.json`), 'utf8'),
  }));
  for (let i = 0; i < count; i++) {
    const { name, text } = sources[Math.floor(random() * sources.length)]!;
    const review = parseJson(text) as Json;
    const mutations = 1 + Math.floor(random() * 3);
    for (let m = 0; m < mutations; m++) mutate(review, random);
    const object = (review.request as Json | undefined)?.object;
    const changed =
      random() < 0.5 &&
      typeof object === 'object' &&
      object !== null &&
      !Array.isArray(object) &&
      !Object.isFrozen(object);
    if (changed) (object as Json).fuzzChange = i;
    const body = JSON.stringify(review);
    const shape = random();
    if (shape < 0.02) yield { source: name, body: body.slice(0, Math.floor(random() * body.length)) };
    else if (shape < 0.03) yield { source: name, body: body + ' '.repeat(maxBodyBytes), review, changed };
    else yield { source: name, body, review, changed };
  }
}
