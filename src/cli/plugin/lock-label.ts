// Which label locks in this cluster. `kubectl bulwark lock` must set the label Bulwark
// reads, or it would report "locked" for a label Bulwark ignores. Bulwark's flags are not
// readable from the cluster, but its chart makes the webhook `immutability.bulwark.dev`
// select exactly the objects carrying the lock label (objectSelector), so that is where
// the label is read from, unless --label-key/--label-value (or BULWARK_LABEL_KEY and
// BULWARK_LABEL_VALUE) name it.

import { BaseError } from '../../errors.ts';
import { DEFAULT_LOCK_LABEL } from '../../policy/builtin.ts';
import type { LockLabel } from '../../policy/compiled.ts';
import { isValidLabelKey, isValidLabelValue } from '../../policy/selector.ts';
import { apiMessage, TIMEOUT_MS, type Session } from './session.ts';

export const IMMUTABILITY_WEBHOOK = 'immutability.bulwark.dev';
const WEBHOOK_CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

export interface LockLabelFlags {
  labelKey?: string;
  labelValue?: string;
}

interface WebhookConfigurationList {
  items?: {
    metadata?: { name?: string };
    webhooks?: { name?: string; objectSelector?: { matchLabels?: Record<string, string> } }[];
  }[];
}

const show = (l: LockLabel) => `${l.key}=${l.value}`;

function fromFlags(flags: LockLabelFlags): LockLabel {
  const label = { key: flags.labelKey ?? DEFAULT_LOCK_LABEL.key, value: flags.labelValue ?? DEFAULT_LOCK_LABEL.value };
  if (!isValidLabelKey(label.key))
    throw new BaseError('CLI_USAGE', `--label-key ${JSON.stringify(label.key)} is not a label key`);
  if (!isValidLabelValue(label.value))
    throw new BaseError('CLI_USAGE', `--label-value ${JSON.stringify(label.value)} is not a label value`);
  return label;
}

/** The labels the Bulwark webhook configurations select on, by configuration name. */
function selectedLabels(list: WebhookConfigurationList): Map<string, LockLabel> {
  const found = new Map<string, LockLabel>();
  for (const configuration of list.items ?? []) {
    for (const webhook of configuration.webhooks ?? []) {
      const entries = Object.entries(webhook.objectSelector?.matchLabels ?? {});
      const [entry] = entries;
      if (webhook.name === IMMUTABILITY_WEBHOOK && entries.length === 1 && entry)
        found.set(configuration.metadata?.name ?? '', { key: entry[0], value: entry[1] });
    }
  }
  return found;
}

/**
 * The lock label: the flags', else the one Bulwark's webhook configuration selects on,
 * else the default (a webhook registered without a selector sends everything: nothing to
 * read). `notice` says when the configurations could not be read and the default is a guess.
 */
export async function resolveLockLabel(
  session: Session,
  flags: LockLabelFlags,
  notice: (line: string) => void,
): Promise<LockLabel> {
  if (flags.labelKey !== undefined || flags.labelValue !== undefined) return fromFlags(flags);
  const res = await session.client.call('GET', WEBHOOK_CONFIGURATIONS, { timeoutMs: TIMEOUT_MS });
  if (res.status !== 200) {
    notice(
      `cannot read the webhook configurations (${apiMessage(res)}), so the lock label is taken to be the ` +
        `default ${show(DEFAULT_LOCK_LABEL)}; if Bulwark runs with another, say so with --label-key and --label-value`,
    );
    return DEFAULT_LOCK_LABEL;
  }
  const found = selectedLabels(res.body as WebhookConfigurationList);
  const distinct = new Map([...found.values()].map((l) => [show(l), l]));
  if (distinct.size > 1) {
    const listed = [...found].map(([name, l]) => `${name}: ${show(l)}`).join(', ');
    throw new BaseError(
      'CLI_USAGE',
      `Bulwark's webhook configurations select on different lock labels (${listed}): say which with --label-key ` +
        `and --label-value`,
    );
  }
  return [...distinct.values()][0] ?? DEFAULT_LOCK_LABEL;
}
