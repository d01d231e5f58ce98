// Start-up time: `bulwark --help` and `kubectl bulwark --help` load only what parses the
// command line. The heavy modules (the Kubernetes client, the logger, ajv and the CRD
// schemas, the registry client) are imported when a command runs. This follows the
// static imports from each entry and fails when one of them is reached.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', '..', 'src');
const HEAVY = ['@kubernetes/client-node', 'pino', 'ajv', 'prom-client', '@sigstore/verify', 'yaml'];

/** Static value imports (not `import type`, not `import()`), as written. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      /^import\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]|^export\s+\{[^}]*\}\s+from\s+['"]([^'"]+)['"]/gm,
    ),
  ]
    .map((m) => m[1] ?? m[2]!)
    .filter(Boolean);
}

/** Every package reached through static imports from `entry`, with the chain that reaches it. */
function reachedPackages(entry: string): Map<string, string> {
  const reached = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (file: string, chain: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith('.')) walk(resolve(dirname(file), specifier), `${chain} -> ${specifier}`);
      else if (!specifier.startsWith('node:') && !reached.has(specifier)) reached.set(specifier, chain);
    }
  };
  walk(entry, entry.slice(SRC.length + 1));
  return reached;
}

describe('start-up imports', () => {
  for (const entry of ['cli/main.ts', 'cli/plugin/main.ts']) {
    it(`${entry} reaches none of ${HEAVY.join(', ')} before a command runs`, () => {
      const reached = reachedPackages(join(SRC, entry));
      expect([...reached.keys()].sort()).toEqual(['commander']);
    });
  }

  it('sees a heavy import when there is one (the check can fail)', () => {
    const reached = reachedPackages(join(SRC, 'cli', 'review-run.ts'));
    expect([...reached.keys()]).toEqual(expect.arrayContaining(['yaml', 'ajv']));
    expect(HEAVY.filter((p) => reached.has(p)).length).toBeGreaterThan(1);
  });
});
