import { readFile } from 'node:fs/promises';
import type { SourceS3Config } from '../generated/config.js';
import { configError } from '../protocol/errors.js';
import type { SecretRedactor } from '../protocol/redactor.js';
import { resolveConfig } from './resolve.js';
import { semanticProblems } from './semantic.js';
import type { ResolvedConfig } from './resolved.js';
import { collectSecretValues } from './schema-walk.js';
import { configSchema } from './spec.js';
import { compileConfigValidator } from './validate.js';

let validator: ((config: unknown) => string[]) | undefined;

/** Reads a JSON file given on the command line, with errors that name the file and never echo its content. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'unknown error'})`;
    throw configError(`The ${what} file ${path} ${reason}.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw configError(`The ${what} file ${path} is not valid JSON${jsonErrorLocation(text, error)}.`);
  }
}

/** Line and column of a JSON syntax error. V8's own message can quote the file's text (secrets), so it is never passed on. */
function jsonErrorLocation(text: string, error: unknown): string {
  if (text.trim() === '') return ': the file is empty';
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (position === null) return /end of JSON/.test(String(error)) ? ': it ends too early (unclosed bracket or string?)' : '';
  const offset = Number(position[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` (syntax error at line ${line}, column ${column})`;
}

/**
 * Loads, validates and resolves the config. Secrets are registered with the
 * redactor before validation, so no error about them can echo them.
 */
export async function loadConfig(path: string, redactor: SecretRedactor): Promise<{ config: ResolvedConfig; warnings: string[] }> {
  const raw = await readJsonFile(path, 'config');
  return validateConfig(raw, redactor);
}

export function validateConfig(raw: unknown, redactor: SecretRedactor): { config: ResolvedConfig; warnings: string[] } {
  const schema = configSchema();
  for (const secret of collectSecretValues(schema, raw)) redactor.add(secret);
  validator ??= compileConfigValidator(schema);
  const problems = [...validator(raw), ...semanticProblems(raw)];
  if (problems.length > 0) {
    throw configError(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}.`);
  }
  return resolveConfig(raw as SourceS3Config, schema);
}
