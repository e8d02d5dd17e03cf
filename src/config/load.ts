import type { SourceS3Config } from '../generated/config.js';
import { configError } from '../protocol/errors.js';
import { readJsonInput } from '../protocol/inputs.js';
import type { SecretRedactor } from '../protocol/redactor.js';
import { resolveConfig } from './resolve.js';
import { nulCharacterProblems } from './nul-characters.js';
import { semanticProblems } from './semantic.js';
import type { ResolvedConfig } from './resolved.js';
import { collectSecretValues } from './schema-walk.js';
import { configSchema } from './spec.js';
import { unknownFields } from './unknown-fields.js';
import { specConfigValidator } from './validate.js';

let validator: ((config: unknown) => string[]) | undefined;

/**
 * Loads, validates and resolves the config. Secrets are registered with the
 * redactor before validation, so no error about them can echo them.
 */
export async function loadConfig(path: string, redactor: SecretRedactor): Promise<{ config: ResolvedConfig; warnings: string[] }> {
  const raw = await readJsonInput(path, 'config');
  return validateConfig(raw, redactor);
}

export function validateConfig(raw: unknown, redactor: SecretRedactor): { config: ResolvedConfig; warnings: string[] } {
  const schema = configSchema();
  for (const secret of collectSecretValues(schema, raw)) redactor.add(secret);
  validator ??= specConfigValidator(schema);
  // NUL characters first and alone: the other checks may quote the values they judge.
  const nulProblems = nulCharacterProblems(raw);
  const problems = nulProblems.length > 0 ? nulProblems : [...validator(raw), ...semanticProblems(raw), ...unknownFields(schema, raw).problems];
  if (problems.length > 0) {
    throw configError(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}.`);
  }
  return resolveConfig(raw as SourceS3Config, schema);
}
