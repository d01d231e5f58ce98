// Registers the plugin commands on a commander program: used by `bulwark` (as
// subcommands) and by `kubectl-bulwark` (kubectl finds it on PATH as `kubectl bulwark`).

import { Option, type Command } from 'commander';
import type { Print } from './commands.ts';
import type { LockLabelFlags } from './lock-label.ts';
import type { KubeOptions } from './session.ts';

// The commands, the kubeconfig and the API client are imported when a command runs:
// @kubernetes/client-node alone takes most of a second to load, and `--help` needs none of it.
const commands = () => import('./commands.ts');
const resolveLockLabel = async (...args: Parameters<typeof import('./lock-label.ts').resolveLockLabel>) =>
  (await import('./lock-label.ts')).resolveLockLabel(...args);

function kubeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default $KUBECONFIG or ~/.kube/config)'))
    .addOption(new Option('--context <name>', 'kubeconfig context'))
    .addOption(new Option('-n, --namespace <ns>', "namespace (default: the context's)"));
}

/** The lock label, when the cluster's is not the one wanted (see lock-label.ts). */
function labelOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--label-key <key>',
        "the lock label's key (default: what Bulwark's webhook configuration selects on, else bulwark.dev/immutable)",
      ).env('BULWARK_LABEL_KEY'),
    )
    .addOption(
      new Option('--label-value <value>', "the lock label's value (default: likewise, else true)").env(
        'BULWARK_LABEL_VALUE',
      ),
    );
}

const session = async (o: KubeOptions) =>
  (await import('./session.ts')).openSession({
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context ? { context: o.context } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  });

/** `notice` gets what is said besides the result (stderr by default). */
export function registerPluginCommands(
  program: Command,
  print: Print,
  setExitCode: (code: number) => void,
  notice: Print = (line) => process.stderr.write(`${line}\n`),
): void {
  labelOptions(
    kubeOptions(
      program
        .command('lock')
        .description('lock an object: label it so that it can no longer be changed or deleted')
        .argument('<kind/name>'),
    ),
  ).action(async (target: string, o: KubeOptions & LockLabelFlags) => {
    const [s, { lock }] = await Promise.all([session(o), commands()]);
    await lock(s, target, print, await resolveLockLabel(s, o, notice));
  });

  const unlock = program.command('unlock').description('request, approve, reject or review lifting a lock');
  kubeOptions(
    unlock
      .command('request')
      .description('ask to change or delete a locked object; others must approve')
      .argument('<kind/name>'),
  )
    .requiredOption('--reason <text>', 'why the change is needed (approvers read it)')
    .option('--operation <ops>', 'comma-separated: UPDATE, DELETE, Unlabel (remove or change the lock label)', 'UPDATE')
    .option('--duration <d>', 'how long the unlock lasts once created, e.g. 30m', '30m')
    .option('--patch <json|@file>', 'bind the unlock to exactly this JSON Patch')
    .option('--ticket <ref>', 'a ticket or incident reference, copied into the audit trail')
    .option('--emergency', "an emergency unlock under the policies' unlock.emergency (loud, reviewed afterwards)")
    .option('--local', "a LocalUnlockRequest in the target's namespace (its team's), not a cluster-scoped one")
    .action(
      async (
        target: string,
        o: KubeOptions & {
          reason: string;
          operation: string;
          duration: string;
          patch?: string;
          ticket?: string;
          emergency?: boolean;
          local?: boolean;
        },
      ) => {
        const { requestUnlock } = await commands();
        await requestUnlock(
          await session(o),
          target,
          {
            operations: o.operation.split(','),
            reason: o.reason,
            duration: o.duration,
            ...(o.patch ? { patch: o.patch } : {}),
            ...(o.ticket ? { ticket: o.ticket } : {}),
            ...(o.emergency ? { emergency: true } : {}),
            ...(o.local ? { local: true } : {}),
          },
          print,
        );
      },
    );
  kubeOptions(
    program
      .command('rollback')
      .description("a locked object's sealed states; with -f, request a rollback to one (fewer approvals)")
      .argument('<kind/name>'),
  )
    .option('-f, --filename <file>', 'the object in the earlier state to return to (as the API server stored it)')
    .option('--reason <text>', 'why the rollback is needed (approvers read it); required with -f')
    .option('--duration <d>', 'how long the unlock lasts once created, e.g. 30m', '30m')
    .option('--local', "with -f: a LocalUnlockRequest in the target's namespace (its team's), not a cluster-scoped one")
    .action(
      async (
        target: string,
        o: KubeOptions & { filename?: string; reason?: string; duration: string; local?: boolean },
      ) => {
        const { rollback } = await import('./rollback.ts');
        await rollback(
          await session(o),
          target,
          {
            duration: o.duration,
            ...(o.filename ? { filename: o.filename } : {}),
            ...(o.reason ? { reason: o.reason } : {}),
            ...(o.local ? { local: true } : {}),
          },
          print,
        );
      },
    );
  const UNLOCK_NAME_HELP =
    'NAME (a LocalUnlockRequest of -n, else the UnlockRequest), localunlockrequest/NAME or unlockrequest/NAME';
  // kind, verb, description, what --comment holds
  const signOffs = [
    ['approval', 'approve', 'approve an UnlockRequest in your own name', 'a note with your approval'],
    [
      'rejection',
      'reject',
      'reject an UnlockRequest in your own name (or withdraw your own): it will never unlock',
      'why',
    ],
    ['review', 'review', 'review an emergency unlock after the fact, in your own name', 'what you found'],
  ] as const;
  for (const [kind, verb, description, comment] of signOffs) {
    kubeOptions(unlock.command(verb).description(description).argument('<name>', UNLOCK_NAME_HELP))
      .option('--comment <text>', comment)
      .action(async (name: string, o: KubeOptions & { comment?: string }) => {
        const { signOffUnlock } = await import('./sign-off.ts');
        await signOffUnlock(await session(o), name, kind, o.comment, print);
      });
  }

  labelOptions(kubeOptions(program.command('status').description('what is locked, and pending and active unlocks')))
    .option('-A, --all-namespaces', 'locked objects and unlocks in every namespace')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action(async (o: KubeOptions & LockLabelFlags & { allNamespaces?: boolean; output: 'text' | 'json' | 'yaml' }) => {
      const [s, { statusReport, status }] = await Promise.all([session(o), import('./status.ts')]);
      const label = await resolveLockLabel(s, o, notice);
      if (o.output === 'text') return status(s, Boolean(o.allNamespaces), print, label);
      const report = await statusReport(s, Boolean(o.allNamespaces), label, Date.now());
      print(o.output === 'json' ? JSON.stringify(report, null, 2) : (await import('yaml')).stringify(report).trimEnd());
    });

  kubeOptions(
    program
      .command('why')
      .description('would applying this manifest be allowed? (server-side dry run, nothing changes)'),
  )
    .requiredOption('-f, --filename <file>', 'manifest file, or - for standard input')
    .option('--snapshot <file>', 'decide offline against a `bulwark snapshot` file, as `bulwark check` does')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action(async (o: KubeOptions & { filename: string; snapshot?: string; output: 'text' | 'json' | 'yaml' }) => {
      const { why, describeWhy } = await import('./why.ts');
      const results = o.snapshot
        ? await (await import('./why-offline.ts')).whyOffline(o.filename, {
            snapshot: o.snapshot,
            namespace: o.namespace ?? 'default',
            nowMs: Date.now(),
          })
        : await why(await session(o), o.filename);
      if (o.output === 'json') print(JSON.stringify(results, null, 2));
      else if (o.output === 'yaml') print((await import('yaml')).stringify(results).trimEnd());
      else for (const r of results) for (const line of describeWhy(r)) print(line);
      if (results.some((r) => r.outcome !== 'allowed' && r.outcome !== 'allowed-by-unlock')) setExitCode(1);
    });
}
