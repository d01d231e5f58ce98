// Registers the plugin commands on a commander program: used by `bulwark` (as
// subcommands) and by `kubectl-bulwark` (kubectl finds it on PATH as `kubectl bulwark`).

import { Option, type Command } from 'commander';
import { lock, requestUnlock, status, why, type Print } from './commands.ts';
import { resolveLockLabel, type LockLabelFlags } from './lock-label.ts';
import { openSession, type KubeOptions } from './session.ts';
import { signOffUnlock } from './sign-off.ts';
import { SIGN_OFF_VERBS, type SignOffKind } from '../../rules/unlock/sign-off.ts';

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

const session = (o: KubeOptions) =>
  openSession({
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
    const s = session(o);
    await lock(s, target, print, await resolveLockLabel(s, o, notice));
  });

  const unlock = program.command('unlock').description('request or approve lifting a lock');
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
        },
      ) => {
        await requestUnlock(
          session(o),
          target,
          {
            operations: o.operation.split(','),
            reason: o.reason,
            duration: o.duration,
            ...(o.patch ? { patch: o.patch } : {}),
            ...(o.ticket ? { ticket: o.ticket } : {}),
            ...(o.emergency ? { emergency: true } : {}),
          },
          print,
        );
      },
    );
  const signOffs: [SignOffKind, string, string][] = [
    ['approval', 'approve an UnlockRequest in your own name', 'a note with your approval'],
    ['rejection', 'reject an UnlockRequest in your own name (or withdraw your own): it will never unlock', 'why'],
    ['review', 'review an emergency unlock after the fact, in your own name', 'what you found'],
  ];
  for (const [kind, description, comment] of signOffs) {
    kubeOptions(unlock.command(SIGN_OFF_VERBS[kind]).description(description).argument('<name>'))
      .option('--comment <text>', comment)
      .action(async (name: string, o: KubeOptions & { comment?: string }) =>
        signOffUnlock(session(o), name, kind, o.comment, print),
      );
  }

  labelOptions(kubeOptions(program.command('status').description('what is locked, and pending and active unlocks')))
    .option('-A, --all-namespaces', 'locked objects in every namespace')
    .action(async (o: KubeOptions & LockLabelFlags & { allNamespaces?: boolean }) => {
      const s = session(o);
      await status(s, Boolean(o.allNamespaces), print, await resolveLockLabel(s, o, notice));
    });

  kubeOptions(
    program
      .command('why')
      .description('would applying this manifest be allowed? (server-side dry run, nothing changes)'),
  )
    .requiredOption('-f, --filename <file>', 'manifest file, or - for standard input')
    .action(async (o: KubeOptions & { filename: string }) => {
      if (!(await why(session(o), o.filename, print))) setExitCode(1);
    });
}
