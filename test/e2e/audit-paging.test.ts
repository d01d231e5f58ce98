// The drift audit's paged listing on the real apiserver (issue 19): the harness runs Bulwark
// with `--audit-page-size 5`, so a scan lists locked objects and seals in pages of five and
// judges each page before asking for the next. Twelve locked ConfigMaps in a namespace that
// sorts after every other test's make the listing span several pages, with this namespace's
// objects on the last ones: a change and a deletion made there while the webhooks were away
// are both found, every other object is sealed and stays in order (no false drift from
// paging), and the findings stay put over the following scans.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../../harness/paths.ts';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { until } from './helpers/plugin.ts';
import { approvablePolicy, createLockedConfigMap } from './helpers/unlock.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';
import { sealed } from './helpers/seals.ts';
import { reportResults } from './helpers/audit.ts';

const WITHIN_MS = 45_000;
const COUNT = 12;
const names = Array.from({ length: COUNT }, (_, i) => `page-${String(i).padStart(2, '0')}`);
let ns: string;
const uids = new Map<string, string>();

beforeAll(async () => {
  await kubectlOk(kubectl, ['apply', '-f', join(REPO_ROOT, 'charts', 'bulwark', 'files', 'policyreport-crds')]);
  // Listed in key order (namespace, then name): `zz-` puts these objects on the last pages.
  ns = await newNamespace('zz-paging');
  const policy = parse(approvablePolicy(`paging-${ns}`, { namespaces: [ns] }));
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(policy) });
  for (const name of names) uids.set(name, await createLockedConfigMap(ns, name));
});

describe('the drift audit over a listing of several pages', () => {
  it('seals every object of every page', async () => {
    for (const name of names) {
      const seal = await sealed(uids.get(name)!);
      expect(seal.spec.target.name).toBe(name);
      expect(seal.spec.current.reason).toBe('locked');
    }
  });

  it('finds a change and a deletion on the last pages, and no drift anywhere else', async () => {
    for (const name of names) await sealed(uids.get(name)!);
    await whileWebhookIsAway(
      async () =>
        (await kubectl(['patch', 'cm', 'page-11', '-n', ns, '-p', '{"data":{"color":"red"}}'], { user: 'alice' }))
          .code === 0 && (await kubectl(['delete', 'cm', 'page-10', '-n', ns])).code === 0,
    );
    const found = async () =>
      (await reportResults(ns))
        .map((r) => `${r.rule} ${r.resources[0]?.name}`)
        .sort()
        .join(', ');
    await until(async () => (await found()) === 'changed page-11, deleted page-10', WITHIN_MS);
    // Two more scans (every 3 s): the findings neither grow nor go away.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await found()).toBe('changed page-11, deleted page-10');
  });
});
