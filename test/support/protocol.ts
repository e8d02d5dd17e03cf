import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const schema = JSON.parse(readFileSync(join(root, 'schemas', 'airbyte_protocol.schema.json'), 'utf8')) as Record<string, unknown>;

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('uri', (text: string) => URL.canParse(text));
ajv.addFormat('date-time', (text: string) => !Number.isNaN(Date.parse(text)));
ajv.addSchema(schema, 'protocol');
const validateMessage = ajv.getSchema('protocol#/definitions/AirbyteMessage')!;
const validateConfiguredCatalog = ajv.getSchema('protocol#/definitions/ConfiguredAirbyteCatalog')!;

/** Validation errors of an AirbyteMessage against the project's protocol schema ('' when valid). */
export function messageErrors(message: unknown): string {
  return validateMessage(message) ? '' : ajv.errorsText(validateMessage.errors);
}

export function configuredCatalogErrors(catalog: unknown): string {
  return validateConfiguredCatalog(catalog) ? '' : ajv.errorsText(validateConfiguredCatalog.errors);
}
