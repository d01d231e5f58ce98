// Merges configuration sources (defaults < file < environment/flags) and validates the
// result once with ajv, reporting every bad field with its path.

import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { BaseError, formatProblems } from '../errors.ts';
import { DEFAULT_CONFIG, configSchema, type Config } from './schema.ts';

const ajv = new Ajv({ allErrors: true, strict: true });
const validateConfig = ajv.compile(configSchema);

export type ConfigOverrides = DeepPartial<Config>;
/** Overrides may name a field and leave it undefined (a flag not given): the base value stays. */
type DeepPartial<T> = { [K in keyof T]?: (T[K] extends object ? DeepPartial<T[K]> : T[K]) | undefined };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; `undefined` in an override leaves the base value. */
export function mergeConfig<T>(base: T, override: unknown): T {
  if (!isRecord(base) || !isRecord(override)) return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = isRecord(value) && isRecord(out[key]) ? mergeConfig(out[key], value) : value;
  }
  return out as T;
}

export function validate(candidate: unknown): Config {
  if (validateConfig(candidate)) return candidate;
  const problems = (validateConfig.errors ?? []).map((e) => ({
    path: e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)',
    message: e.message ?? 'is invalid',
  }));
  throw new BaseError('CONFIG_INVALID', `invalid configuration: ${formatProblems(problems)}`, { problems });
}

export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BaseError('CONFIG_INVALID', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // `yaml` is imported only with a config file: a webhook configured by flags never loads it (issue 19).
    const { parse } = await import('yaml');
    return parse(text) ?? {};
  } catch (err) {
    throw new BaseError('CONFIG_INVALID', `config file ${path} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function loadConfig(options: { file?: string | undefined; overrides?: ConfigOverrides }): Promise<Config> {
  let merged: unknown = DEFAULT_CONFIG;
  if (options.file) merged = mergeConfig(merged, await readConfigFile(options.file));
  merged = mergeConfig(merged, options.overrides ?? {});
  return validate(merged);
}
