import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Verifies AWS Signature Version 4 on S3 requests the way S3 does, by
 * recomputing the signature with the SDK's own signer (@smithy/signature-v4,
 * S3 flavour: no double path escaping) from the secret the key id belongs to.
 * Both forms the SDK sends are covered: the Authorization header and presigned
 * (query string) URLs. The region in the credential scope is taken as given,
 * like S3-compatible stores do.
 */

export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: requests must carry this token. */
  sessionToken?: string;
}

/** What S3 answers when it refuses a request. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export type Verdict =
  | { ok: true; signed: true; accessKeyId: string; /** Hex SHA-256 the body must have, when the signature covers it. */ bodySha256?: string }
  | { ok: true; signed: false }
  | ({ ok: false } & Refusal);

export interface RequestToVerify {
  method: string;
  /** The request target as received: raw path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** S3 refuses requests whose date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const CREDENTIAL = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const UNSIGNED_PAYLOADS = new Set(['UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']);
const SIGNED_CHUNKS = /^STREAMING-AWS4-/;
const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token'];

/** SHA-256 (and HMAC-SHA-256 when given a key) for the signer, from node:crypto. */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const refuse = (status: number, code: string, message: string): Verdict => ({ ok: false, status, code, message });
const signatureMismatch = () =>
  refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');

type SignerRequest = Parameters<SignatureV4['presign']>[0];
type Query = Record<string, string | string[]>;

export class SigV4Verifier {
  private readonly keys: Map<string, TestKey>;

  constructor(keys: TestKey[], private readonly now: () => Date = () => new Date()) {
    this.keys = new Map(keys.map((key) => [key.accessKeyId, key]));
  }

  async verify(request: RequestToVerify): Promise<Verdict> {
    const [path = '/', rawQuery] = splitOnce(request.url, '?');
    const query = parseQuery(rawQuery ?? '');
    const authorization = header(request.headers, 'authorization');
    if (authorization !== undefined) return this.verifyHeaderForm(request, path, query, authorization);
    if (query['X-Amz-Signature'] !== undefined || query['X-Amz-Credential'] !== undefined) return this.verifyQueryForm(request, path, query);
    return { ok: true, signed: false };
  }

  private async verifyHeaderForm(request: RequestToVerify, path: string, query: Query, authorization: string): Promise<Verdict> {
    if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) return refuse(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    const parts = AUTHORIZATION.exec(authorization);
    const scope = CREDENTIAL.exec(parts?.[1] ?? '');
    if (parts === null || scope === null) return refuse(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.');
    const [, accessKeyId = '', , region = '', service = ''] = scope;
    const signedHeaders = parts[2]!.split(';');
    const key = this.keys.get(accessKeyId);
    if (key === undefined) return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');

    const amzDate = header(request.headers, 'x-amz-date');
    const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
    if (signingDate === undefined) return refuse(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (Math.abs(this.now().getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
      return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
    const unsigned = Object.keys(request.headers).filter((name) => name.startsWith('x-amz-') && !signedHeaders.includes(name));
    if (unsigned.length > 0 || !signedHeaders.includes('host')) {
      return refuse(403, 'AccessDenied', `There were headers present in the request which were not signed: ${unsigned.join(', ') || 'host'}`);
    }
    const payloadHash = header(request.headers, 'x-amz-content-sha256');
    if (payloadHash === undefined) return refuse(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    if (SIGNED_CHUNKS.test(payloadHash)) {
      // The JS SDK never sends signed chunks; refuse rather than pass chunks unverified.
      return refuse(501, 'NotImplemented', 'The test front does not verify chunk signatures (STREAMING-AWS4-*).');
    }
    if (!UNSIGNED_PAYLOADS.has(payloadHash) && !HEX_SHA256.test(payloadHash)) {
      return refuse(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.');
    }
    const tokenProblem = checkToken(key, header(request.headers, 'x-amz-security-token'));
    if (tokenProblem !== undefined) return tokenProblem;

    // The session token is checked above and signed as the request's own header.
    const signer = s3Signer(key, undefined, region, service);
    const signed = await signer.sign(signerRequest(request, path, query, signedHeaders), { signingDate, signableHeaders: new Set(signedHeaders) });
    const expected = String(signed.headers.authorization ?? '');
    if (expected !== authorization.replace(/,\s*/g, ', ')) return signatureMismatch();
    return { ok: true, signed: true, accessKeyId, ...(HEX_SHA256.test(payloadHash) ? { bodySha256: payloadHash } : {}) };
  }

  private async verifyQueryForm(request: RequestToVerify, path: string, query: Query): Promise<Verdict> {
    const single = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    const signature = single('X-Amz-Signature');
    const scope = CREDENTIAL.exec(single('X-Amz-Credential') ?? '');
    const signingDate = parseAmzDate(single('X-Amz-Date') ?? '');
    const expires = Number(single('X-Amz-Expires'));
    const signedHeaders = (single('X-Amz-SignedHeaders') ?? '').split(';');
    if (single('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || signature === undefined || scope === null || signingDate === undefined || !Number.isInteger(expires)) {
      return refuse(400, 'AuthorizationQueryParametersError', 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
    }
    if (expires < 1 || expires > MAX_PRESIGNED_SECONDS) return refuse(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be between 1 and 604800 seconds.');
    const [, accessKeyId = '', , region = '', service = ''] = scope;
    const key = this.keys.get(accessKeyId);
    if (key === undefined) return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (this.now().getTime() > signingDate.getTime() + expires * 1000) return refuse(403, 'AccessDenied', 'Request has expired');
    const token = single('X-Amz-Security-Token');
    const tokenProblem = checkToken(key, token);
    if (tokenProblem !== undefined) return tokenProblem;

    const rest: Query = Object.fromEntries(Object.entries(query).filter(([name]) => !PRESIGN_PARAMS.includes(name)));
    const toSign = signerRequest(request, path, rest, signedHeaders);
    // Presigned URLs sign UNSIGNED-PAYLOAD: a body the signer cannot hash makes it use that.
    toSign.body = PRESIGNED_BODY;
    // presign puts the token back into the query it signs.
    const signer = s3Signer(key, token, region, service);
    const presigned = await signer.presign(toSign, {
      signingDate,
      expiresIn: expires,
      signableHeaders: new Set(signedHeaders),
      // Headers that came as headers stay headers, as they were when the URL was made.
      unhoistableHeaders: new Set(signedHeaders),
    });
    const same = (name: string) => presigned.query?.[name] === query[name];
    if (!same('X-Amz-Credential') || !same('X-Amz-SignedHeaders') || presigned.query?.['X-Amz-Signature'] !== signature) return signatureMismatch();
    return { ok: true, signed: true, accessKeyId };
  }
}

const PRESIGNED_BODY = Object.freeze({ presigned: true });

/** S3's rules: the path is signed as sent (no second escaping), and the signer adds no header of its own. */
function s3Signer(key: TestKey, sessionToken: string | undefined, region: string, service: string): SignatureV4 {
  const credentials = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
  return new SignatureV4({ credentials, region, service, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
}

/** The request as the client signed it: only the headers it says it signed. */
function signerRequest(request: RequestToVerify, path: string, query: Query, signedHeaders: string[]): SignerRequest {
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = header(request.headers, name);
    if (value !== undefined) headers[name] = value;
  }
  const host = header(request.headers, 'host') ?? '';
  return { method: request.method, protocol: 'http:', hostname: host.replace(/:\d+$/, ''), path, query, headers };
}

function checkToken(key: TestKey, token: string | undefined): Verdict | undefined {
  if (key.sessionToken === token) return undefined;
  return refuse(key.sessionToken !== undefined && token === undefined ? 403 : 400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** Raw query string -> decoded names and values; a name without `=` has the value '' (as in `?location`). */
function parseQuery(raw: string): Query {
  const query: Query = {};
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const [rawName = '', rawValue = ''] = splitOnce(part, '=');
    const name = decodeURIComponent(rawName);
    const value = decodeURIComponent(rawValue);
    const existing = query[name];
    query[name] = existing === undefined ? value : [existing, value].flat();
  }
  return query;
}

/** 20260101T123456Z -> Date, or undefined when it is not that shape. */
function parseAmzDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return undefined;
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
