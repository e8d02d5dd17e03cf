import type { JsonSchema } from './spec.js';

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The property that tells a oneOf's variants apart (Airbyte's rule: every variant
 * has a required property with a `const`), or undefined when there is none.
 */
export function oneOfDiscriminator(schema: JsonSchema): string | undefined {
  const variants = schema.oneOf;
  if (!Array.isArray(variants) || variants.length === 0) return undefined;
  const first = variants[0] as JsonSchema;
  const candidates = Object.entries((first.properties ?? {}) as Record<string, JsonSchema>)
    .filter(([, property]) => property.const !== undefined)
    .map(([name]) => name);
  return candidates.find((name) =>
    variants.every((variant: JsonSchema) => {
      const property = (variant.properties as Record<string, JsonSchema> | undefined)?.[name];
      return property?.const !== undefined && Array.isArray(variant.required) && variant.required.includes(name);
    }),
  );
}

/** The variant of a discriminated oneOf that a value selects. */
export function selectedVariant(schema: JsonSchema, value: unknown): JsonSchema | undefined {
  const tag = oneOfDiscriminator(schema);
  if (tag === undefined || !isObject(value)) return undefined;
  return (schema.oneOf as JsonSchema[]).find(
    (variant) => (variant.properties as Record<string, JsonSchema>)[tag]?.const === value[tag],
  );
}

/** Every value in `config` whose schema says `airbyte_secret: true`. */
export function collectSecretValues(schema: JsonSchema, value: unknown, found: unknown[] = []): unknown[] {
  if (schema.airbyte_secret === true) found.push(value);
  const variant = selectedVariant(schema, value);
  if (variant !== undefined) collectSecretValues(variant, value, found);
  else if (Array.isArray(schema.oneOf) && isObject(value)) {
    // Undecided variant (e.g. a bad auth_type): treat a field secret if any variant says so.
    for (const candidate of schema.oneOf as JsonSchema[]) collectSecretValues(candidate, value, found);
  }
  if (isObject(schema.properties) && isObject(value)) {
    for (const [name, propertySchema] of Object.entries(schema.properties)) {
      if (name in value) collectSecretValues(propertySchema as JsonSchema, value[name], found);
    }
  }
  if (isObject(schema.items) && Array.isArray(value)) {
    for (const item of value) collectSecretValues(schema.items, item, found);
  }
  return found;
}

/** A copy of the schema with ajv's `discriminator` keyword on every discriminated oneOf. */
export function withDiscriminators(schema: JsonSchema): JsonSchema {
  const copy: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'properties' && isObject(value)) {
      copy.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, withDiscriminators(sub as JsonSchema)]),
      );
    } else if ((keyword === 'items' || keyword === 'additionalProperties') && isObject(value)) {
      copy[keyword] = withDiscriminators(value);
    } else if (keyword === 'oneOf' && Array.isArray(value)) {
      copy.oneOf = value.map((variant: JsonSchema) => withDiscriminators(variant));
    } else {
      copy[keyword] = value;
    }
  }
  const tag = oneOfDiscriminator(schema);
  if (tag !== undefined) copy.discriminator = { propertyName: tag };
  return copy;
}
