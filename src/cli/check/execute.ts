// The bodies of `bulwark check` and `bulwark snapshot`, imported when they run.

import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { BaseError, isBulwarkError, messageOf } from '../../errors.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { paint, wantsColour, type Paint } from '../output/colour.ts';
import { imageFacts, signatureSource } from '../image-facts.ts';
import { checkManifests, readManifests, type CheckResult } from './check.ts';
import type { CheckOptions, SnapshotOptions } from './command.ts';
import { loadSnapshot, readSnapshotFile, type LoadedSnapshot } from './snapshot.ts';
import { forSnapshotFile, MAX_SNAPSHOT_DEPTH } from './snapshot-depth.ts';

async function clusterSnapshot(o: { kubeconfig?: string; context?: string; labelKey?: string; labelValue?: string }) {
  const [{ openSession }, { resolveLockLabel }, { takeSnapshot }] = await Promise.all([
    import('../plugin/session.ts'),
    import('../plugin/lock-label.ts'),
    import('./take-snapshot.ts'),
  ]);
  const session = openSession({
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context ? { context: o.context } : {}),
  });
  const flags = {
    ...(o.labelKey ? { labelKey: o.labelKey } : {}),
    ...(o.labelValue ? { labelValue: o.labelValue } : {}),
  };
  const label = await resolveLockLabel(session, flags, (line) => process.stderr.write(`${line}\n`));
  return takeSnapshot(session, label, new Date());
}

export function humanCheck(results: readonly CheckResult[], p: Paint): string {
  const lines: string[] = [];
  for (const r of results) {
    const state = r.operation === 'CREATE' ? 'new' : r.locked ? 'locked' : 'exists';
    const what = `${r.target} (${r.operation === 'DELETE' ? `deleted, ${state}` : state}, ${r.where})`;
    if (r.allowed) {
      if (r.warnings.length === 0) continue;
      lines.push(`${p.yellow('WARN')} ${what}`, ...r.warnings.map((w) => `     ${w}`));
      continue;
    }
    lines.push(`${p.red('DENY')} ${what}`, `     ${r.message ?? 'denied'}`);
    if (r.unlockCommand) {
      const bound = r.patch ? ', bound to exactly this patch' : ' for the deletion';
      lines.push(`     needs an UnlockRequest with ${r.unlockNeeds}${bound}:`);
      lines.push(`     ${r.unlockCommand}`);
    }
  }
  const denied = results.filter((r) => !r.allowed).length;
  const removed = results.filter((r) => r.operation === 'DELETE').length;
  const counted = `${results.length - removed} manifests${removed > 0 ? `, ${removed} removed` : ''}`;
  const summary = `${counted}: ${denied} would be denied, ${results.length - denied} allowed`;
  lines.push(denied > 0 ? p.red(summary) : p.green(summary));
  return `${lines.join('\n')}\n`;
}

export async function runCheck(options: CheckOptions): Promise<number> {
  try {
    if (Boolean(options.snapshot) === Boolean(options.cluster))
      throw new BaseError('CLI_USAGE', 'give exactly one of --snapshot FILE and --cluster');
    const compiler = createPolicyCompiler();
    const [manifests, base, snapshot] = await Promise.all([
      readManifests(options.filename),
      readManifests(options.base ?? []),
      options.snapshot
        ? readSnapshotFile(options.snapshot, compiler)
        : clusterSnapshot(options).then((s): LoadedSnapshot => loadSnapshot(s, compiler, 'the cluster')),
    ]);
    const nowMs = options.now ? Date.parse(options.now) : Date.now();
    if (Number.isNaN(nowMs)) throw new BaseError('CLI_USAGE', '--now is not an RFC 3339 time');
    const policies = snapshot.store.snapshot();
    // A layout given is read (and checked) even when no policy judges images: bad input is bad input.
    const registry =
      options.ociLayout || policies.images.length > 0 ? await signatureSource(options.ociLayout) : undefined;
    const withImages = registry ? await imageFacts(registry, policies.lockLabel, 8000) : undefined;
    const results = await checkManifests(manifests, snapshot, {
      defaultNamespace: options.namespace ?? 'default',
      nowMs,
      ...(options.base ? { base } : {}),
      ...(withImages ? { withImages } : {}),
    }).finally(() => registry?.close());
    process.stdout.write(
      options.output === 'json'
        ? `${JSON.stringify({ denied: results.filter((r) => !r.allowed).length, results }, null, 2)}\n`
        : humanCheck(results, paint(wantsColour(process.stdout))),
    );
    return results.every((r) => r.allowed) ? 0 : 1;
  } catch (err) {
    if (!isBulwarkError(err)) throw err;
    process.stderr.write(`bulwark check: ${messageOf(err)}\n`);
    return 2;
  }
}

export async function runSnapshot(options: SnapshotOptions): Promise<number> {
  const snapshot = await clusterSnapshot(options);
  const objects = snapshot.objects.map((o) => {
    const kept = forSnapshotFile(o);
    if (kept.omitted)
      process.stderr.write(
        `bulwark snapshot: ${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}` +
          `${o.metadata?.name}: nested deeper than ${MAX_SNAPSHOT_DEPTH} levels, kept without its content ` +
          '(check reports any manifest for it as a change; check --cluster reads it whole)\n',
      );
    return kept.object;
  });
  const text = stringify({ ...snapshot, objects });
  if (!options.output) process.stdout.write(text);
  else await writeFile(options.output, text);
  return 0;
}
