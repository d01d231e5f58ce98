// Ways around an ImagePolicy found by adversarial testing, against the real apiserver:
// an image volume (the kubelet pulls it like a container image) and registry spellings
// that the runtime resolves to the registry a glob names (upper case, default ports,
// Docker Hub aliases). Also: the extractor covers every image-bearing field and every
// pod-carrying kind in this apiserver's own schema.

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { IMAGE_FIELDS, POD_SPEC_PATHS } from '../../src/rules/images/extract.ts';
import {
  coveredFields,
  imageBearingFields,
  NOT_PULLED,
  podSpecHolders,
  type OpenApiDocument,
} from '../helpers/pod-schema.ts';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { retryUntil } from './helpers/retry.ts';
import { DENIED_BY_BULWARK } from './helpers/denied.ts';

const digest = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
const APPROVED = digest('approved');
const UNSIGNED = digest('unsigned');
let ns: string;

const pod = (name: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec });
const apply = (manifest: string) => kubectl(['apply', '-f', '-'], { input: manifest, user: 'alice' });
const container = (image: string) => ({ containers: [{ name: 'app', image }] });

beforeAll(async () => {
  ns = await newNamespace('img-escape');
  // Allow unmatched images: only the globs' registries are checked, so a spelling that
  // escaped the glob would be admitted unverified.
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name: `escape-${ns}` },
      spec: {
        images: ['registry.example.com/**', 'docker.io/library/**', 'localhost:5000/**', 'Mixed.Example.COM:443/**'],
        match: { namespaces: [ns] },
        authorities: [{ name: 'change-board', digests: [APPROVED] }],
        unmatchedImages: 'Allow',
      },
    }),
  });
  await retryUntil(
    () => apply(pod('probe', container(`registry.example.com/app@${UNSIGNED}`))),
    (r) => r.code !== 0,
    {
      between: () => kubectl(['delete', 'pod', 'probe', '-n', ns, '--wait=false']),
    },
  );
}, 60_000);

describe('registry spellings do not escape a glob (unmatchedImages: Allow)', () => {
  it('the approved digest is admitted, in any spelling', async () => {
    const r = await apply(pod('approved', container(`REGISTRY.example.com:443/app@${APPROVED}`)));
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    ['upper-case host', `REGISTRY.EXAMPLE.COM/app@${UNSIGNED}`],
    ['explicit :443', `registry.example.com:443/app@${UNSIGNED}`],
    ['explicit :80', `registry.example.com:80/app@${UNSIGNED}`],
    ['docker.io:443', `docker.io:443/library/nginx@${UNSIGNED}`],
    ['index.docker.io:443, no library/', `index.docker.io:443/nginx@${UNSIGNED}`],
    ['registry-1.docker.io', `registry-1.docker.io/library/nginx@${UNSIGNED}`],
    ['upper-case Docker Hub', `DOCKER.IO/nginx@${UNSIGNED}`],
    ['LOCALHOST', `LOCALHOST:5000/app@${UNSIGNED}`],
    ['a glob written in mixed case with :443', `mixed.example.com/app@${UNSIGNED}`],
  ])('%s: an unlisted digest is denied', async (_name, image) => {
    const r = await apply(
      pod(`spelling-${createHash('sha256').update(image).digest('hex').slice(0, 8)}`, container(image)),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(DENIED_BY_BULWARK);
    expect(r.stderr).toContain(
      `image "${image}" (spec.containers[0].image) has no cosign signature and is not on an approved-digest list`,
    );
  });

  it('another port is another registry: not matched, so allowed here', async () => {
    const r = await apply(pod('other-port', container(`registry.example.com:5000/app@${UNSIGNED}`)));
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('image volumes are checked like containers', () => {
  it('a Pod with an unpinned image volume is denied', async () => {
    const r = await apply(
      pod('volume', {
        ...container(`registry.example.com/app@${APPROVED}`),
        volumes: [{ name: 'evil', image: { reference: 'registry.example.com/evil:latest' } }],
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'image "registry.example.com/evil:latest" (spec.volumes[0].image.reference) is not pinned by digest',
    );
  });

  it('a Deployment whose template mounts an unlisted image volume is denied; a listed one is admitted', async () => {
    const deployment = (reference: string) =>
      stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              ...container(`registry.example.com/app@${APPROVED}`),
              volumes: [{ name: 'models', image: { reference } }],
            },
          },
        },
      });
    const denied = await apply(deployment(`Registry.Example.com:443/models@${UNSIGNED}`));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      '(spec.template.spec.volumes[0].image.reference) has no cosign signature and is not on an approved-digest list',
    );
    const ok = await apply(deployment(`registry.example.com/models@${APPROVED}`));
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('in an Enforce namespace that denies unmatched images, an image volume from anywhere else is denied', async () => {
    const strict = await newNamespace('img-strict');
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: `strict-${strict}` },
        spec: {
          images: ['registry.example.com/**'],
          match: { namespaces: [strict] },
          authorities: [{ name: 'change-board', digests: [APPROVED] }],
        },
      }),
    });
    const manifest = stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'evil', namespace: strict },
      spec: {
        ...container(`registry.example.com/app@${APPROVED}`),
        volumes: [{ name: 'v', image: { reference: 'example.invalid/evil:latest' } }],
      },
    });
    const r = await retryUntil(
      () => apply(manifest),
      (result) => result.code !== 0,
      { between: () => kubectl(['delete', 'pod', 'evil', '-n', strict, '--wait=false']) },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `image "example.invalid/evil:latest" (spec.volumes[0].image.reference) matches no ImagePolicy, and ` +
        `strict-${strict} denies unmatched images`,
    );
  });
});

describe("the extractor covers this apiserver's Pod schema", () => {
  let documents: OpenApiDocument[];
  let core: OpenApiDocument;
  beforeAll(async () => {
    const index = JSON.parse(await kubectlOk(kubectl, ['get', '--raw', '/openapi/v3'])) as {
      paths: Record<string, unknown>;
    };
    const paths = Object.keys(index.paths).filter((p) => /^apis?\/.+\/v[^/]*$|^api\/v1$/.test(p));
    documents = await Promise.all(
      paths.map(
        async (p) => JSON.parse(await kubectlOk(kubectl, ['get', '--raw', `/openapi/v3/${p}`])) as OpenApiDocument,
      ),
    );
    core = documents[paths.indexOf('api/v1')]!;
  });

  it('every image-bearing PodSpec field is extracted (or known not to pull)', () => {
    const found = imageBearingFields(core);
    expect(found.filter((f) => !coveredFields().includes(f) && !(f in NOT_PULLED))).toEqual([]);
    expect(coveredFields().filter((f) => !found.includes(f))).toEqual([]);
    expect(IMAGE_FIELDS.length).toBe(coveredFields().length);
  });

  it('every kind that carries a pod spec, in every group served, is known', () => {
    expect(Object.fromEntries(podSpecHolders(documents))).toEqual(
      Object.fromEntries(Object.entries(POD_SPEC_PATHS).map(([k, v]) => [k, [...v]])),
    );
  });
});
