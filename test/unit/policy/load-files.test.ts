import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BaseError } from '../../../src/errors.ts';
import { loadPolicyFiles } from '../../../src/policy/load-files.ts';
import { FIXTURES_DIR } from '../../helpers/fixtures.ts';
import { VALID_POLICIES_DIR } from '../../helpers/policies.ts';
import { policyStore } from '../../helpers/snapshots.ts';

const INVALID_DIR = join(FIXTURES_DIR, 'policies', 'invalid');

describe('policies from files (standalone mode)', () => {
  it('loads every policy through the same compile path and marks the source synced', async () => {
    const store = policyStore({ sources: ['files'] });
    expect(await loadPolicyFiles(store, VALID_POLICIES_DIR)).toBe(3);
    const snapshot = store.snapshot();
    expect(snapshot.synced).toBe(true);
    expect(snapshot.immutability.size).toBe(2);
    expect(snapshot.images.map((p) => p.name)).toEqual(['shop-images']);
  });

  it('refuses invalid files naming file, policy and field of each problem', async () => {
    const error = await loadPolicyFiles(policyStore({ sources: ['files'] }), INVALID_DIR).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BaseError);
    const message = (error as BaseError).message;
    expect(message).toContain(
      'bad.yaml: ImmutabilityPolicy bad-immutability: spec.enforcement: must be one of "Enforce", "Warn", "Audit"',
    );
  });
});
