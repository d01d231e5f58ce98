// An upgrade that changes the CRDs, under the steady write load of the HA tests (issue 12):
// `helm upgrade` to a copy of the chart whose ImmutabilityPolicy CRD gains a field, then back
// to the chart as it is, while two writers patch a locked and an unlabelled ConfigMap
// straight through the apiserver. Zero failed admissions: every locked write is denied by
// Bulwark with its policy's message (none because a replica's watches broke when the CRD
// changed: the resync grace covers that), every unlabelled one allowed. The counts are printed.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CHART_DIR, kubectlJson, newNamespace, RELEASE_NAMESPACE, until } from './context.ts';
import { emptyTally, steadyLoad, type Tally, type Write, write } from './load.ts';
import { restoreRelease, upgradeRelease } from './release.ts';
import { apply, LOCK, readyPods } from './workloads.ts';

const BULWARK_PODS = 'app.kubernetes.io/name=bulwark';
const CRD = 'immutabilitypolicies.bulwark.dev';
const CRD_FILE = join('files', 'crds', `${CRD}.yaml`);

let ns = '';
let chart = '';
const message = () => `CRD upgrade test (${ns}).`;
const writeTo = (name: string): Write => ({
  path: `/api/v1/namespaces/${ns}/configmaps/${name}`,
  patch: (n) => ({ data: { n: String(n) } }),
  ...(name === 'locked' ? { denialMentions: message() } : {}),
});

interface Crd {
  spec: {
    versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[];
  };
}
const specProperties = (crd: Crd) => crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties;

beforeAll(async () => {
  ns = await newNamespace('crd-upgrade');
  await apply(
    {
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: ns },
      spec: { match: { namespaces: [ns] }, message: message() },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'locked', namespace: ns, labels: LOCK },
      data: { n: '0' },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: ns }, data: { n: '0' } },
  );
  // A copy of the chart whose ImmutabilityPolicy CRD has one more (optional) spec field.
  chart = join(await mkdtemp(join(tmpdir(), 'bulwark-chart-')), 'bulwark');
  await cp(CHART_DIR, chart, { recursive: true });
  const crd = parse(await readFile(join(chart, CRD_FILE), 'utf8')) as Crd;
  specProperties(crd).upgradeNote = { type: 'string', description: 'A field the upgrade adds.' };
  await writeFile(join(chart, CRD_FILE), stringify(crd));
  await readyPods(RELEASE_NAMESPACE, BULWARK_PODS, 2);
  await until('Bulwark denies with the policy message', async () => {
    const probe = emptyTally();
    await write({ ...writeTo('locked'), dryRun: true }, 0, probe);
    return probe.counts['denied-by-bulwark'] === 1 ? true : undefined;
  });
});

afterAll(async () => {
  if (chart) await rm(join(chart, '..'), { recursive: true, force: true });
});

describe('an upgrade that changes the CRDs', () => {
  it('adds a field to a CRD and takes it away again, under load, without a failed admission', async () => {
    const load = steadyLoad([writeTo('locked'), writeTo('plain')]);
    const started = Date.now();
    await upgradeRelease([], { chart });
    expect(Object.keys(specProperties(await kubectlJson<Crd>(['get', 'crd', CRD])))).toContain('upgradeNote');
    await restoreRelease();
    expect(Object.keys(specProperties(await kubectlJson<Crd>(['get', 'crd', CRD])))).not.toContain('upgradeNote');
    const seconds = (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [locked, plain] = (await load.stop()) as [Tally, Tally];
    process.stderr.write(
      `[figure] CRD upgrade and back under load (${seconds.toFixed(0)} s): locked ${JSON.stringify(locked.counts)} ` +
        `(${locked.whileSyncing} of the denials while a replica re-synced its informers after the CRD changed), ` +
        `unlabelled ${JSON.stringify(plain.counts)}\n`,
    );
    expect(locked.counts, locked.samples.join('\n')).toEqual({
      ...emptyTally().counts,
      'denied-by-bulwark': locked.latenciesMs.length,
    });
    expect(plain.counts, plain.samples.join('\n')).toEqual({
      ...emptyTally().counts,
      allowed: plain.latenciesMs.length,
    });
    // A CRD change ends every watch on its resources; within the resync grace the replicas
    // keep deciding from their last state, so no denial is a "not synced" one.
    expect(locked.whileSyncing, locked.samples.join('\n')).toBe(0);
  }, 600_000);
});
