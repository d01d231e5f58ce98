// A guided tour for newcomers: starts a throwaway cluster with Bulwark, shows a locked
// ConfigMap refusing a change and accepting an identical reapply, then tears it all
// down. Every command is printed before it runs.
//
//   npm run demo            (set KEEP=1 to keep the cluster directory with its logs)

import { styleText } from 'node:util';
import { stringify } from 'yaml';
import { startCluster, type Cluster } from '../harness/cluster.ts';
import type { KubectlResult } from '../harness/kubectl.ts';

const say = (text = '') => process.stdout.write(`${text}\n`);
const heading = (text: string) => say(`\n${styleText('bold', `== ${text}`)}`);
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n');

function configMap(greeting: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'demo', labels: { 'bulwark.dev/immutable': 'true' } },
    data: { greeting, retries: '3' },
  });
}

/** Prints the command (and the manifest piped into it), runs it, prints what it said. */
async function run(cluster: Cluster, args: string[], input?: string): Promise<KubectlResult> {
  say(styleText('cyan', `$ kubectl ${args.join(' ')}${input ? ' <<EOF' : ''}`));
  if (input) say(styleText('cyan', `${input.trimEnd()}\nEOF`));
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.stdout.trim()) say(indent(result.stdout));
  if (result.stderr.trim()) say(styleText('red', indent(result.stderr)));
  say(styleText('dim', `   (exit code ${result.code})`));
  return result;
}

async function tour(cluster: Cluster): Promise<boolean> {
  heading('1. A namespace and a ConfigMap labelled bulwark.dev/immutable=true');
  say('Creating is always allowed: the label locks an object from then on.');
  await run(cluster, ['create', 'namespace', 'demo']);
  const created = await run(cluster, ['apply', '-f', '-'], configMap('hello'));

  heading('2. Apply a changed manifest: Bulwark denies it');
  say('The apiserver asks Bulwark before storing the update; Bulwark compares old and new.');
  const changed = await run(cluster, ['apply', '-f', '-'], configMap('goodbye'));
  const message = /denied the request: (.*)/.exec(changed.stderr)?.[1];
  if (message) say(`\nBulwark's message: ${styleText('bold', message)}`);

  heading('3. Apply the identical manifest again: nothing changes, so it is fine');
  say('kubectl finds no difference and sends nothing. A server-side apply does send the update;');
  say('Bulwark sees that nothing but bookkeeping (managedFields) differs, and allows it.');
  const same = await run(cluster, ['apply', '-f', '-'], configMap('hello'));
  const sameServerSide = await run(cluster, ['apply', '--server-side', '-f', '-'], configMap('hello'));

  heading('4. Deleting it is a change too');
  const deleted = await run(cluster, ['delete', 'configmap', 'settings', '--namespace', 'demo']);

  heading('5. What is stored');
  await run(cluster, ['get', 'configmap', 'settings', '--namespace', 'demo', '-o', 'jsonpath={.data}']);

  const asExpected =
    created.code === 0 &&
    changed.code !== 0 &&
    message !== undefined &&
    same.code === 0 &&
    sameServerSide.code === 0 &&
    deleted.code !== 0;
  say(
    `\n${
      asExpected
        ? styleText('green', 'Everything behaved as ' + 'described.')
        : styleText('red', 'Something did not behave as described: see above.')
    }`,
  );
  return asExpected;
}

async function main(): Promise<number> {
  say(
    styleText(
      'bold',
      'Bulwark demo: a local kube-apiserver (no Docker, no nodes) with Bulwark as its validating webhook.',
    ),
  );
  say('Starting etcd, kube-apiserver and Bulwark as local processes...');
  const cluster = await startCluster({ keep: process.env.KEEP === '1', log: (m) => say(styleText('dim', `   ${m}`)) });
  say(`kubectl talks to ${cluster.server} as admin (kubeconfig ${cluster.kubeconfig}).`);
  try {
    return (await tour(cluster)) ? 0 : 1;
  } finally {
    heading('Tearing down');
    await cluster.stop();
    say(
      process.env.KEEP === '1'
        ? `Stopped; logs kept in ${cluster.dir}`
        : 'Stopped every process and removed the cluster directory.',
    );
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
