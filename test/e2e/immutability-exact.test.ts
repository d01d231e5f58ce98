// Changes that a careless comparison misses or chokes on, against the real apiserver:
// integers beyond 2^53 (JSON.parse reads 9007199254740993 and ...992 as one double) and
// objects nested thousands of levels deep (a recursive diff overflows the stack). The
// custom resource is a Document (test CRD with a free-form spec), written as JSON text
// so that no number passes through a double on the way.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  ensureTestCrd,
  expectAllowed,
  expectChangeDenied,
  expectUntouched,
  LOCK_LABELS,
  stamp,
  target,
  type Ref,
} from './helpers/immutability.ts';

let ns: string;
beforeAll(async () => {
  ns = await newNamespace('immut-exact');
  await ensureTestCrd('documents');
});

/** A locked Document as JSON text; `spec` is spliced in verbatim. */
function documentJson(name: string, spec: string): string {
  const metadata = JSON.stringify({ name, namespace: ns, labels: LOCK_LABELS });
  return `{"apiVersion":"e2e.bulwark.dev/v1","kind":"Document","metadata":${metadata},"spec":${spec}}`;
}

const ref = (name: string): Ref => ({ resource: 'document', name, namespace: ns });
const replaceAsAlice = (json: string) => kubectl(['replace', '-f', '-'], { user: 'alice', namespace: ns, input: json });
/** Stamp content: the spec as the apiserver serves it (kubectl prints numbers verbatim). */
const SPEC = '{.spec}';

describe('numbers are compared exactly', () => {
  const ORIGINAL =
    '{"microDollars":9007199254740993,"nanos":1732846513123456789,"max":9223372036854775807,"ratio":0.1}';

  it.each([
    { field: 'microDollars', to: '9007199254740992', what: 'one less, the same double' },
    { field: 'nanos', to: '1732846513123456788', what: 'a nanosecond timestamp changed in its last digit' },
    { field: 'max', to: '9223372036854775806', what: 'the largest int64, one less' },
  ])('a change of spec.$field ($what) is denied', async ({ field, to }) => {
    const name = `big-${field.toLowerCase()}`;
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: documentJson(name, ORIGINAL) });
    const before = await stamp(ref(name), SPEC);
    expect(before.content).toContain('9007199254740993');

    const changed = ORIGINAL.replace(new RegExp(`"${field}":[0-9]+`), `"${field}":${to}`);
    expectChangeDenied(
      await replaceAsAlice(documentJson(name, changed)),
      target('Document', ref(name)),
      `spec.${field} (changed)`,
    );
    await expectUntouched(ref(name), before, SPEC);
  });

  it(
    'the identical object with the same large numbers is allowed, and so is a float written with more digits ' +
      'than a double holds (it is stored as the same double)',
    async () => {
      const name = 'big-same';
      await kubectlOk(kubectl, ['create', '-f', '-'], { input: documentJson(name, ORIGINAL) });
      const before = await stamp(ref(name), SPEC);

      expectAllowed(await replaceAsAlice(documentJson(name, ORIGINAL)));
      expectAllowed(await replaceAsAlice(documentJson(name, ORIGINAL.replace('0.1}', '0.10000000000000001}'))));
      const after = await stamp(ref(name), SPEC);
      expect(after.uid).toBe(before.uid);
      expect(after.content).toBe(before.content);
    },
  );
});

describe('an object nested 9,000 levels deep', () => {
  const DEPTH = 9000;
  const nested = (leaf: string) => `${'{"a":'.repeat(DEPTH)}${leaf}${'}'.repeat(DEPTH)}`;

  beforeAll(async () => {
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: documentJson('deep', nested('"x"')) });
  });

  it('is reapplied identically (kubectl replace): allowed', async () => {
    const before = await stamp(ref('deep'), '{.metadata.generation}');

    expectAllowed(await replaceAsAlice(documentJson('deep', nested('"x"'))));
    expect((await stamp(ref('deep'), '{.metadata.generation}')).uid).toBe(before.uid);
  });

  it('a change at the bottom is denied with a normal message naming the (shortened) path', async () => {
    const before = await stamp(ref('deep'), '{.metadata.generation}');

    const result = await replaceAsAlice(documentJson('deep', nested('"y"')));

    expectChangeDenied(result, target('Document', ref('deep')), 'spec.a.a.a.a');
    expect(result.stderr).toContain('… (changed)');
    await expectUntouched(ref('deep'), before, '{.metadata.generation}');
  });
});
