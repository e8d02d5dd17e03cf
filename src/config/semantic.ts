import { isRecord } from '../protocol/json-object.js';
import { deliveryProblems } from './delivery.js';
import { userSchemaProblems } from './input-schema.js';
/**
 * Checks that JSON Schema cannot express. They run on the raw config next to
 * the schema validation, so one error lists every problem; each check looks
 * only at values of the type it expects (the schema reports wrong types).
 */
export function semanticProblems(raw: unknown): string[] {
  if (!isRecord(raw)) return [];
  const problems: string[] = [];

  if (typeof raw.bucket === 'string') {
    const bucket = raw.bucket.trim();
    if (raw.bucket !== '' && bucket === '') problems.push('bucket must not be blank');
    else if (/^s3:\/\//i.test(bucket) || bucket.includes('/')) {
      problems.push(`bucket must be the bucket name only, e.g. my-bucket (got "${bucket}"); put any folder in path`);
    }
  }
  if (typeof raw.region === 'string' && raw.region.trim() !== '' && !/^[a-z0-9-]+$/.test(raw.region.trim())) {
    problems.push(`region must look like us-east-1 (lowercase letters, digits and hyphens; got "${raw.region}")`);
  }
  if (typeof raw.path === 'string' && /^s3:\/\//i.test(raw.path.trim())) {
    problems.push('path must be a folder inside the bucket, e.g. exports/daily, not an s3:// URL');
  }
  if (typeof raw.endpoint === 'string' && raw.endpoint.trim() !== '') {
    const endpointProblem = checkEndpoint(raw.endpoint.trim());
    if (endpointProblem !== undefined) problems.push(endpointProblem);
  }
  if (isRecord(raw.credentials) && raw.credentials.auth_type === 'iam_role') {
    const hasKey = nonEmptyString(raw.credentials.aws_access_key_id);
    const hasSecret = nonEmptyString(raw.credentials.aws_secret_access_key);
    if (hasKey && !hasSecret) problems.push('credentials.aws_secret_access_key is required when credentials.aws_access_key_id is set');
    if (hasSecret && !hasKey) problems.push('credentials.aws_access_key_id is required when credentials.aws_secret_access_key is set');
  }
  if (Array.isArray(raw.streams)) problems.push(...streamProblems(raw.streams));
  problems.push(...deliveryProblems(raw));
  return problems;
}

function streamProblems(streams: unknown[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  streams.forEach((stream, index) => {
    if (!isRecord(stream)) return;
    const where = `streams[${index}]`;
    if (typeof stream.name === 'string') {
      const earlier = seen.get(stream.name);
      if (earlier !== undefined) problems.push(`${where}.name "${stream.name}" is already used by streams[${earlier}]; stream names must be unique`);
      else seen.set(stream.name, index);
    }
    if (stream.query !== undefined) {
      const extra = (['globs', 'format'] as const).filter((field) => stream[field] !== undefined);
      if (extra.length > 0) {
        problems.push(`${where} (${String(stream.name)}) has both query and ${extra.join(' and ')}: a model query names its files itself; remove ${extra.join(' and ')}`);
      }
    }
    problems.push(...userSchemaProblems(stream, where));
    const filetype = isRecord(stream.format) ? stream.format.filetype : undefined;
    if (stream.on_error === 'skip' && filetype !== undefined && filetype !== 'csv' && filetype !== 'document') {
      problems.push(`${where}.on_error skip applies to CSV (malformed rows) and documents (files that cannot be parsed) only; ${String(filetype)} files have no malformed rows to skip (remove on_error)`);
    }
    if (Array.isArray(stream.globs)) {
      stream.globs.forEach((glob, globIndex) => {
        if (typeof glob !== 'string') return;
        if (glob.startsWith('/')) problems.push(`${where}.globs[${globIndex}] "${glob}" must be relative to path; drop the leading /`);
        if (/^s3:\/\//i.test(glob)) problems.push(`${where}.globs[${globIndex}] must be a pattern relative to path, not an s3:// URL`);
      });
    }
  });
  return problems;
}

/** Undefined when the endpoint is usable once `https://` is added to a bare host. */
function checkEndpoint(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(withScheme(endpoint));
  } catch {
    return `endpoint "${endpoint}" is not a valid URL; use e.g. http://localhost:9000 or https://s3.example.com`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `endpoint must use http:// or https:// (got ${url.protocol}//)`;
  if (url.username !== '' || url.password !== '') return 'endpoint must not contain a user name or password; put credentials in credentials';
  return undefined;
}

export function withScheme(endpoint: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
}

const nonEmptyString = (value: unknown): boolean => typeof value === 'string' && value !== '';
