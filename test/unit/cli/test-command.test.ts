// `bulwark test`: the example suite in examples/ (written as a user would) passes; a
// wrong expectation exits 1 and says why; bad input exits 2 naming file and field path;
// JSON and JUnit outputs; and the offline review is decided exactly as the captured one.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { decide } from '../../../src/review/decide.ts';
import { reviewFromManifests } from '../../../src/review/from-manifests.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { run } from '../../helpers/run-cli.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

const EXAMPLES = resolve(import.meta.dirname, '..', '..', '..', 'examples', 'policy-tests');

afterEach(() => vi.restoreAllMocks());

async function suiteDir(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-test-'));
  await writeFile(join(dir, 'bulwark-test.yaml'), text);
  return dir;
}

const configMap = (a: string) =>
  `{ apiVersion: v1, kind: ConfigMap, ` +
  `metadata: { name: c, namespace: n, labels: { bulwark.dev/immutable: "true" } }, ` +
  `data: { a: "${a}" } }`;
const LOCKED = configMap('1');
const CHANGED = configMap('2');
const HEADER = 'apiVersion: cli.bulwark.dev/v1alpha1\nkind: PolicyTest\n';

describe('bulwark test', () => {
  it('passes the example suite in examples/policy-tests (exit 0)', async () => {
    const r = await run(main, ['test', EXAMPLES]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/14 passed, 0 failed, 14 cases/);
    expect(r.stdout).not.toContain('\u001b['); // not a TTY: no colour
  });

  it('exits 1 on a wrong expectation, saying what came out instead', async () => {
    const dir = await suiteDir(
      `${HEADER}cases:\n` +
        `  - { name: wrong, old: ${LOCKED}, new: ${CHANGED}, expect: { allowed: true } }\n` +
        `  - { name: right, old: ${LOCKED}, new: ${CHANGED}, ` +
        `expect: { allowed: false, reason: "data.a (changed)" } }\n`,
    );
    const r = await run(main, ['test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL wrong');
    expect(r.stdout).toContain('expected allowed, got denied: ConfigMap n/c is locked');
    expect(r.stdout).toContain('PASS right');
    const json = JSON.parse((await run(main, ['test', '-o', 'json', dir])).stdout);
    expect(json).toMatchObject({ passed: 1, failed: 1 });
    expect(json.cases[0]).toMatchObject({ name: 'wrong', passed: false, allowed: false });
  });

  it('writes JUnit XML with one failure element per failed case', async () => {
    const dir = await suiteDir(
      `${HEADER}name: "a <suite>"\ncases:\n` +
        `  - { name: "wrong & loud", old: ${LOCKED}, new: ${CHANGED}, expect: { allowed: true } }\n`,
    );
    const file = join(dir, 'junit.xml');
    const r = await run(main, ['test', '-o', 'junit', '--junit-file', file, dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('<testsuites name="bulwark test" tests="1" failures="1">');
    expect(r.stdout).toContain('<testsuite name="a &lt;suite&gt;"');
    expect(r.stdout).toMatch(/<testcase [^>]*name="wrong &amp; loud"[^>]*>\s*<failure message="expected allowed/);
    expect(await readFile(file, 'utf8')).toBe(r.stdout);
  });

  it('exits 2 on bad input, naming the file and the path of every problem, before running anything', async () => {
    const dir = await suiteDir(
      `${HEADER}cases:\n` +
        `  - { name: typo, new: ${LOCKED}, expect: { allowd: true } }\n` +
        `  - { name: op, new: ${LOCKED}, operation: PATCH, expect: { allowed: true } }\n`,
    );
    const r = await run(main, ['test', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('bulwark-test.yaml: ');
    expect(r.stderr).toContain('cases[0].expect.allowd: unknown field');
    expect(r.stderr).toContain('cases[0].expect.allowed: is required');
    expect(r.stderr).toContain('cases[1].operation: must be one of "CREATE", "UPDATE", "DELETE"');
  });

  it('exits 2 for a missing manifest file, an invalid policy, or a path without test files', async () => {
    const missing = await suiteDir(`${HEADER}cases:\n  - { name: m, new: nope.yaml, expect: { allowed: true } }\n`);
    expect((await run(main, ['test', missing])).stderr).toMatch(/cannot read .*nope\.yaml/);
    const badPolicy = await suiteDir(
      `${HEADER}policies: [p.yaml]\ncases:\n` + `  - { name: m, new: ${LOCKED}, expect: { allowed: true } }\n`,
    );
    await writeFile(
      join(badPolicy, 'p.yaml'),
      'apiVersion: bulwark.dev/v1alpha1\nkind: ImmutabilityPolicy\nmetadata: { name: p }\n' +
        'spec: { enforcement: Maybe }\n',
    );
    const bad = await run(main, ['test', badPolicy]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/p\.yaml: ImmutabilityPolicy p: spec\.enforcement/);
    const empty = await mkdtemp(join(tmpdir(), 'bulwark-empty-'));
    const none = await run(main, ['test', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no bulwark-test.yaml');
  });
});

describe('reviews built from manifests', () => {
  it('decide as the captured review from the apiserver does', async () => {
    const captured = loadReview('configmap-apply-changed');
    const built = reviewFromManifests({
      oldObject: captured.request.oldObject!,
      object: captured.request.object!,
      ...(captured.request.userInfo.username ? { user: captured.request.userInfo.username } : {}),
    });
    expect(built.request).toMatchObject({
      kind: captured.request.kind,
      resource: captured.request.resource,
      namespace: captured.request.namespace,
      name: captured.request.name,
      operation: 'UPDATE',
    });
    const deps = { snapshot: () => builtinSnapshot(), resolveFacts: async () => ({}) };
    const [a, b] = await Promise.all([decide(captured, deps), decide(built, deps)]);
    expect(b.review.response.allowed).toBe(false);
    expect(b.review.response.status).toEqual(a.review.response.status);
  });

  it('shape scale and eviction requests as the apiserver does, with the parent as the locked object', () => {
    const parent = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'n' },
      spec: { replicas: 2 },
    };
    const scale = reviewFromManifests({ oldObject: parent, subResource: 'scale', replicas: 5 }).request;
    const captured = loadReview('deployment-scale').request;
    expect(scale).toMatchObject({
      kind: captured.kind,
      resource: captured.resource,
      subResource: 'scale',
      operation: 'UPDATE',
    });
    expect(scale.object).toMatchObject({ kind: 'Scale', spec: { replicas: 5 } });
    expect(scale.oldObject).toMatchObject({ kind: 'Scale', spec: { replicas: 2 } });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' } };
    const eviction = reviewFromManifests({ oldObject: pod, subResource: 'eviction' }).request;
    const capturedEviction = loadReview('pod-eviction').request;
    expect(eviction).toMatchObject({
      kind: capturedEviction.kind,
      resource: capturedEviction.resource,
      subResource: 'eviction',
      operation: 'CREATE',
    });
  });
});
