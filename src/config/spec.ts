import { readFileSync } from 'node:fs';
import type { ConnectorSpecification } from '../generated/protocol.js';

export type JsonSchema = { [keyword: string]: unknown };

let cached: ConnectorSpecification | undefined;

/** The connector specification, read once from spec.json at the package root. */
export function connectorSpecification(): ConnectorSpecification {
  // src/config and dist/config are both two levels below the package root.
  cached ??= JSON.parse(readFileSync(new URL('../../spec.json', import.meta.url), 'utf8')) as ConnectorSpecification;
  return cached;
}

export function configSchema(): JsonSchema {
  return connectorSpecification().connectionSpecification as JsonSchema;
}
