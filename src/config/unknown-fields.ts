import { closestFieldName } from './field-names.js';
import { oneOfDiscriminator, selectedVariant } from './schema-walk.js';
import type { JsonSchema } from './spec.js';

export interface UnknownFields {
  /** Unknown keys that look like a misspelt known field the object does not set: config errors. */
  problems: string[];
  /** Other unknown keys: ignored, and said. */
  warnings: string[];
}

/**
 * Keys the spec does not know, anywhere in the config. A misspelt field is an
 * error, not a warning: ignoring it would silently apply the field's default
 * (a stream without `globs` reads every file). An unknown key near a field the
 * object already sets, or near none, is only a warning.
 */
export function unknownFields(schema: JsonSchema, value: unknown): UnknownFields {
  const found: UnknownFields = { problems: [], warnings: [] };
  walk(schema, value, '', found);
  return found;
}

function walk(schema: JsonSchema, value: unknown, path: string, found: UnknownFields): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = schema.items as JsonSchema | undefined;
    if (items !== undefined) value.forEach((item, index) => walk(items, item, `${path}[${index}]`, found));
    return;
  }
  const properties = knownProperties(schema, value);
  if (properties === undefined) return;
  const object = value as Record<string, unknown>;
  for (const [name, child] of Object.entries(object)) {
    const childPath = path === '' ? name : `${path}.${name}`;
    const childSchema = properties[name];
    if (childSchema !== undefined) {
      walk(childSchema, child, childPath, found);
      continue;
    }
    const unset = Object.keys(properties).filter((known) => !(known in object));
    const meant = closestFieldName(name, unset);
    if (meant !== undefined) found.problems.push(`${childPath} is not a known field (did you mean ${path === '' ? meant : `${path}.${meant}`}?)`);
    else found.warnings.push(`Unknown config field ${childPath} is ignored; known fields here: ${Object.keys(properties).join(', ')}`);
  }
}

/**
 * The properties an object may have: those of the oneOf variant it selects, or,
 * when it selects none (its tag is missing or misspelt), those of every variant.
 */
function knownProperties(schema: JsonSchema, value: unknown): Record<string, JsonSchema> | undefined {
  const variant = selectedVariant(schema, value);
  if (variant !== undefined) return (variant.properties ?? schema.properties) as Record<string, JsonSchema> | undefined;
  if (oneOfDiscriminator(schema) !== undefined) {
    const all: Record<string, JsonSchema> = {};
    for (const candidate of schema.oneOf as JsonSchema[]) Object.assign(all, candidate.properties as Record<string, JsonSchema>);
    return all;
  }
  return schema.properties as Record<string, JsonSchema> | undefined;
}
