import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { requireCjs } from './cjs-require.js';

/** Custom string formats, by name, that a precompiled validator checks with. */
export type StringFormats = Record<string, (text: string) => boolean>;

/**
 * Validators compiled when the package is built: scripts/generate-validators.mjs writes
 * dist/generated/<name>-validators.cjs with ajv's standalone code. Compiling the config and
 * protocol schemas at run time cost ~110 ms of every command's start. Undefined where they
 * were not built (running from the sources, as unit tests do); the caller compiles then.
 */
export function precompiledValidators(name: 'config' | 'protocol', formats: StringFormats): Record<string, ValidateFunction> | undefined {
  const path = fileURLToPath(new URL(`./generated/${name}-validators.cjs`, import.meta.url));
  if (!existsSync(path)) return undefined;
  const factory = requireCjs(path) as (formats: StringFormats) => Record<string, ValidateFunction>;
  return factory(formats);
}
