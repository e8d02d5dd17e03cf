import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import type { JsonSchema } from './spec.js';
import { oneOfDiscriminator, withDiscriminators } from './schema-walk.js';
import { requireCjs } from '../cjs-require.js';
import { precompiledValidators, type StringFormats } from '../precompiled-validators.js';

/** Keywords Airbyte adds to specs; annotations only. */
const AIRBYTE_KEYWORDS = ['airbyte_secret', 'airbyte_hidden', 'order', 'pattern_descriptor', 'always_show', 'group'];

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** A real instant: Date.parse would roll 2024-02-30 over to March 1st, so the calendar date is checked too. */
export function isValidDateTime(text: string): boolean {
  if (!DATE_TIME.test(text) || Number.isNaN(Date.parse(text))) return false;
  return isRealDate(text.slice(0, 10));
}

function isRealDate(text: string): boolean {
  const [year, month, day] = text.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** The string formats config fields use. */
export const CONFIG_FORMATS: StringFormats = {
  'date-time': isValidDateTime,
  date: (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text) && isRealDate(text),
  uri: (text: string) => URL.canParse(text),
};

/** `extra` lets the build ask for standalone code (scripts/generate-validators.mjs). */
export function createAjv(extra: Options = {}): Ajv {
  const { Ajv } = requireCjs('ajv') as typeof import('ajv');
  const ajv = new Ajv({ allErrors: true, discriminator: true, verbose: true, strict: true, strictTypes: false, ...extra });
  ajv.addVocabulary(AIRBYTE_KEYWORDS);
  for (const [name, check] of Object.entries(CONFIG_FORMATS)) ajv.addFormat(name, check);
  return ajv;
}

/** Compiles a spec's connectionSpecification into a validator that reports one readable line per violation. */
export function compileConfigValidator(schema: JsonSchema): (config: unknown) => string[] {
  return reportingValidator(createAjv().compile(withDiscriminators(schema)));
}

/** The validator of the connector's own spec (`schema`): the one built with the package, else compiled now. */
export function specConfigValidator(schema: JsonSchema): (config: unknown) => string[] {
  const built = precompiledValidators('config', CONFIG_FORMATS)?.config;
  return built === undefined ? compileConfigValidator(schema) : reportingValidator(built);
}

function reportingValidator(validate: ValidateFunction): (config: unknown) => string[] {
  return (config: unknown) => {
    if (validate(config)) return [];
    const lines: string[] = [];
    const seenPaths = new Set<string>();
    for (const error of validate.errors ?? []) {
      const { path, text } = describe(error);
      // One message per field: a bad date trips both `pattern` and `format`.
      if (seenPaths.has(path)) continue;
      seenPaths.add(path);
      lines.push(text);
    }
    return lines;
  };
}

/** `/streams/0/format` -> `streams[0].format` */
export function fieldPath(instancePath: string, child?: string): string {
  const segments = instancePath.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segments.push(child);
  let path = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else path += path === '' ? segment : `.${segment}`;
  }
  return path === '' ? 'config' : path;
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** " for auth_type iam_role" when the failing schema is one variant of a discriminated oneOf. */
function variantSuffix(parentSchema: unknown): string {
  if (parentSchema === null || typeof parentSchema !== 'object') return '';
  const properties = (parentSchema as JsonSchema).properties as Record<string, JsonSchema> | undefined;
  const tag = Object.entries(properties ?? {}).find(([, property]) => property.const !== undefined);
  return tag === undefined ? '' : ` for ${tag[0]} ${String(tag[1].const)}`;
}

function variantValues(schema: JsonSchema, tag: string): string {
  return ((schema.oneOf ?? []) as JsonSchema[])
    .map((variant) => String(((variant.properties as Record<string, JsonSchema>)[tag] as JsonSchema).const))
    .join(', ');
}

function describe(error: ErrorObject): { path: string; text: string } {
  const path = fieldPath(error.instancePath);
  const schema = (error.parentSchema ?? {}) as JsonSchema;
  const params = error.params as Record<string, unknown>;
  const isSecret = schema.airbyte_secret === true;
  switch (error.keyword) {
    case 'required': {
      const missing = fieldPath(error.instancePath, String(params.missingProperty));
      return { path: missing, text: `${missing} is required${variantSuffix(error.parentSchema)}` };
    }
    case 'discriminator': {
      const tag = String(params.tag);
      const tagPath = fieldPath(error.instancePath, tag);
      const allowed = variantValues(schema, oneOfDiscriminator(schema) ?? tag);
      if (params.error === 'tag' && params.tagValue === undefined) {
        return { path: tagPath, text: `${tagPath} is required (one of ${allowed})` };
      }
      return { path: tagPath, text: `${tagPath} must be one of ${allowed} (got ${JSON.stringify(params.tagValue)})` };
    }
    case 'type':
      return { path, text: `${path} must be ${article(String(params.type))} (got ${typeOfValue(error.data)})` };
    case 'enum':
      return {
        path,
        text: `${path} must be one of ${(params.allowedValues as unknown[]).join(', ')}${isSecret ? '' : ` (got ${JSON.stringify(error.data)})`}`,
      };
    case 'const':
      return { path, text: `${path} must be ${JSON.stringify(params.allowedValue)}` };
    case 'minLength':
      return { path, text: params.limit === 1 ? `${path} must not be empty` : `${path} must have at least ${String(params.limit)} characters` };
    case 'maxLength':
      return { path, text: `${path} must have at most ${String(params.limit)} characters` };
    case 'minItems':
      return { path, text: `${path} must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}` };
    case 'minimum':
      return { path, text: `${path} must be >= ${String(params.limit)}` };
    case 'pattern':
    case 'format': {
      const shape = typeof schema.pattern_descriptor === 'string' ? schema.pattern_descriptor : String(params.pattern ?? params.format);
      const example = Array.isArray(schema.examples) && !isSecret ? ` such as ${String(schema.examples[0])}` : '';
      return { path, text: `${path} must look like ${shape}${example}${isSecret ? '' : ` (got ${JSON.stringify(error.data)})`}` };
    }
    default:
      return { path, text: `${path} ${error.message ?? 'is invalid'}` };
  }
}

function article(type: string): string {
  const words = type.split(',').map((word) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`));
  return words.join(' or ');
}
