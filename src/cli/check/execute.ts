// The bodies of `bulwark check` and `bulwark snapshot`, imported when they run.

import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { BaseError, isBulwarkError, messageOf } from '../../errors.ts';
import { createPolicyCompiler } from '../../policy/compiler.ts';
import { paint, wantsColour, type Paint } from '../output/colour.ts';
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
    const what = `${r.target} (${r.operation === 'CREATE' ? 'new' : r.locked ? 'locked' : 'exists'}, ${r.where})`;
    if (r.allowed) {
      if (r.warnings.length === 0) continue;
      lines.push(`${p.yellow('WARN')} ${what}`, ...r.warnings.map((w) => `     ${w}`));
      continue;
    }
    lines.push(`${p.red('DENY')} ${what}`, `     ${r.message ?? 'denied'}`);
    if (r.unlockCommand) {
      lines.push(`     needs an UnlockRequest with ${r.unlockNeeds}, bound to exactly this patch:`);
      lines.push(`     ${r.unlockCommand}`);
    }
  }
  const denied = results.filter((r) => !r.allowed).length;
  const summary = `${results.length} manifests: ${denied} would be denied, ${results.length - denied} allowed`;
  lines.push(denied > 0 ? p.red(summary) : p.green(summary));
  return `${lines.join('\n')}\n`;
}

export async function runCheck(options: CheckOptions): Promise<number> {
  try {
    if (Boolean(options.snapshot) === Boolean(options.cluster))
      throw new BaseError('CLI_USAGE', 'give exactly one of --snapshot FILE and --cluster');
    const compiler = createPolicyCompiler();
    const [manifests, snapshot] = await Promise.all([
      readManifests(options.filename),
      options.snapshot
        ? readSnapshotFile(options.snapshot, compiler)
        : clusterSnapshot(options).then((s): LoadedSnapshot => loadSnapshot(s, compiler, 'the cluster')),
    ]);
    const nowMs = options.now ? Date.parse(options.now) : Date.now();
    if (Number.isNaN(nowMs)) throw new BaseError('CLI_USAGE', '--now is not an RFC 3339 time');
    const results = await checkManifests(manifests, snapshot, {
      defaultNamespace: options.namespace ?? 'default',
      nowMs,
    });
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
