import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { localS3Client } from '../../scripts/local-s3.mjs';
import { endpoint } from '../support/cli.js';
import { BUCKET, PUBLIC_BUCKET, ROLE_SESSION_TOKEN, ROLE_TEMP_KEY_ID, ROLE_TEMP_SECRET, USER_KEY_ID, USER_SECRET } from '../support/constants.js';
import { FIXTURES } from '../support/fixtures.js';
import { NodeSha256, SigV4Verifier } from '../support/sigv4-verify.js';

// Every test's S3 requests go through the SigV4 front (global-setup.ts). These
// tests make sure it refuses what S3 refuses, so it cannot silently accept everything.

describe('SigV4 verification against AWS\'s published examples', () => {
  // From the S3 API reference, "Signature Calculations for the Authorization Header" and
  // "Authenticating Requests: Using Query Parameters" (GET /test.txt from examplebucket).
  const awsKey = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const at = (iso: string) => () => new Date(iso);
  const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const getObject = (overrides: Record<string, string> = {}, url = '/test.txt') => ({
    method: 'GET',
    url,
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': emptyHash,
      'x-amz-date': '20130524T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      ...overrides,
    },
  });
  const presignedQuery =
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
  const presigned = (url = `/test.txt?${presignedQuery}`) => ({ method: 'GET', url, headers: { host: 'examplebucket.s3.amazonaws.com' } });

  it('accepts the header-signed example with the right secret', async () => {
    const verdict = await new SigV4Verifier([awsKey], at('2013-05-24T00:05:00Z')).verify(getObject());
    expect(verdict).toEqual({ ok: true, signed: true, accessKeyId: awsKey.accessKeyId, bodySha256: emptyHash });
  });

  it('refuses it with a wrong secret, an unknown key id, a tampered header or path', async () => {
    const wrongSecret = new SigV4Verifier([{ ...awsKey, secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ' }], at('2013-05-24T00:05:00Z'));
    expect(await wrongSecret.verify(getObject())).toMatchObject({ ok: false, status: 403, code: 'SignatureDoesNotMatch' });
    const verifier = new SigV4Verifier([awsKey], at('2013-05-24T00:05:00Z'));
    expect(await verifier.verify(getObject({ range: 'bytes=0-99' }))).toMatchObject({ ok: false, status: 403, code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(getObject({}, '/test.txt2'))).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(getObject({}, '/test.txt?versionId=1'))).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(getObject({ host: 'otherbucket.s3.amazonaws.com' }))).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(getObject({ 'x-amz-meta-added': 'x' }))).toMatchObject({ ok: false, status: 403, code: 'AccessDenied' });
    expect(await new SigV4Verifier([], at('2013-05-24T00:05:00Z')).verify(getObject())).toMatchObject({ ok: false, status: 403, code: 'InvalidAccessKeyId' });
    expect(await new SigV4Verifier([awsKey], at('2013-05-24T01:00:00Z')).verify(getObject())).toMatchObject({ ok: false, status: 403, code: 'RequestTimeTooSkewed' });
  });

  it('accepts the presigned example until it expires, and refuses it tampered', async () => {
    expect(await new SigV4Verifier([awsKey], at('2013-05-24T12:00:00Z')).verify(presigned())).toEqual({ ok: true, signed: true, accessKeyId: awsKey.accessKeyId });
    expect(await new SigV4Verifier([awsKey], at('2013-05-25T00:00:01Z')).verify(presigned())).toMatchObject({ ok: false, status: 403, code: 'AccessDenied', message: 'Request has expired' });
    const verifier = new SigV4Verifier([awsKey], at('2013-05-24T12:00:00Z'));
    expect(await verifier.verify(presigned(`/other.txt?${presignedQuery}`))).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(presigned(`/test.txt?${presignedQuery.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401')}`))).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(presigned(`/test.txt?${presignedQuery}&response-content-type=text%2Fhtml`))).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
  });
});

interface Answer {
  status: number;
  body: string;
}

/** Sends a request as given (headers untouched) to the test front. */
async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL(endpoint());
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Signs like the SDK's S3 client does (no second path escaping), with the given key pair. */
async function signedHeaders(method: string, path: string, secret: string, body?: string, keyId = USER_KEY_ID, sessionToken?: string): Promise<Record<string, string>> {
  const url = new URL(endpoint());
  const signer = new SignatureV4({ credentials: { accessKeyId: keyId, secretAccessKey: secret, ...(sessionToken ? { sessionToken } : {}) }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, headers: { host: url.host }, ...(body === undefined ? {} : { body }) });
  return signed.headers;
}

const peoplePath = `/${BUCKET}/${FIXTURES.peopleCsv}`;

describe('the front of the test S3 server', () => {
  it('passes the SDK\'s requests signed with the right secret, refuses a wrong secret and an unknown key as S3 does', async () => {
    const right = localS3Client(endpoint(), USER_KEY_ID, USER_SECRET);
    const listed = await right.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'csv/' }));
    expect(listed.Contents?.map((object) => object.Key)).toContain(FIXTURES.peopleCsv);
    const object = await right.send(new GetObjectCommand({ Bucket: BUCKET, Key: FIXTURES.quotedName }));
    expect((await object.Body!.transformToString()).length).toBeGreaterThan(0);

    const wrong = localS3Client(endpoint(), USER_KEY_ID, `${USER_SECRET}x`);
    await expect(wrong.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    await expect(wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sigv4/never.txt', Body: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    const unknown = localS3Client(endpoint(), 'AKIANOBODY0000001', USER_SECRET);
    await expect(unknown.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } });
    await expect(right.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sigv4/never.txt' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    for (const client of [right, wrong, unknown]) client.destroy();
  });

  it('verifies the aws-chunked upload with a trailing checksum that the SDK sends by default', async () => {
    const payloadForms: string[] = [];
    const upload = async (secret: string) => {
      // Default checksum settings: a stream body goes as aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER.
      const client = new S3Client({ endpoint: endpoint(), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: USER_KEY_ID, secretAccessKey: secret } });
      client.middlewareStack.add(
        (next) => async (args) => {
          payloadForms.push(String((args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256']));
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low' },
      );
      try {
        return await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sigv4/chunked.txt', Body: Readable.from([Buffer.from('hello '), Buffer.from('world')]), ContentLength: 11 }));
      } finally {
        client.destroy();
      }
    };
    await expect(upload(USER_SECRET)).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    await expect(upload(`${USER_SECRET}x`)).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(new Set(payloadForms)).toEqual(new Set(['STREAMING-UNSIGNED-PAYLOAD-TRAILER']));
  });

  it('answers a wrong signature with S3\'s XML error', async () => {
    const answer = await send('GET', peoplePath, await signedHeaders('GET', peoplePath, 'not-the-secret'));
    expect(answer.status).toBe(403);
    expect(answer.body).toMatch(/<Error><Code>SignatureDoesNotMatch<\/Code><Message>The request signature we calculated does not match/);
  });

  it('refuses a correctly signed request once its path, a signed header or its body is changed', async () => {
    const headers = await signedHeaders('GET', peoplePath, USER_SECRET);
    expect((await send('GET', peoplePath, headers)).status).toBe(200);
    expect(await send('GET', `/${BUCKET}/${FIXTURES.eventsParquet}`, headers)).toMatchObject({ status: 403, body: expect.stringContaining('SignatureDoesNotMatch') });
    expect(await send('GET', `${peoplePath}?tampered=1`, headers)).toMatchObject({ status: 403, body: expect.stringContaining('SignatureDoesNotMatch') });
    expect(await send('GET', peoplePath, { ...headers, 'x-amz-date': headers['x-amz-date']!.replace(/\d(?=Z$)/, (digit) => String((Number(digit) + 1) % 10)) })).toMatchObject({
      status: 403,
      body: expect.stringContaining('SignatureDoesNotMatch'),
    });
    expect(await send('GET', peoplePath, { ...headers, 'x-amz-meta-unsigned': 'x' })).toMatchObject({ status: 403, body: expect.stringContaining('AccessDenied') });

    const putPath = `/${BUCKET}/sigv4/body.txt`;
    const putHeaders = await signedHeaders('PUT', putPath, USER_SECRET, 'signed body');
    expect(await send('PUT', putPath, putHeaders, 'other body!')).toMatchObject({ status: 400, body: expect.stringContaining('XAmzContentSHA256Mismatch') });
    expect((await send('PUT', putPath, putHeaders, 'signed body')).status).toBe(200);
  });

  it('checks the session token of temporary credentials', async () => {
    expect((await send('GET', peoplePath, await signedHeaders('GET', peoplePath, ROLE_TEMP_SECRET, undefined, ROLE_TEMP_KEY_ID, ROLE_SESSION_TOKEN))).status).toBe(200);
    const withoutToken = await send('GET', peoplePath, await signedHeaders('GET', peoplePath, ROLE_TEMP_SECRET, undefined, ROLE_TEMP_KEY_ID));
    expect(withoutToken).toMatchObject({ status: 403, body: expect.stringContaining('InvalidToken') });
  });

  it('serves presigned URLs made as the SDK\'s presigner makes them, and refuses a wrong secret or a changed URL', async () => {
    const url = new URL(endpoint());
    const presign = async (secret: string) => {
      const signer = new SignatureV4({ credentials: { accessKeyId: USER_KEY_ID, secretAccessKey: secret }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
      const presigned = await signer.presign(
        { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: peoplePath, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
        { expiresIn: 900, unsignableHeaders: new Set(['content-type']) },
      );
      const query = Object.entries(presigned.query ?? {}).map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
      return `${peoplePath}?${query.join('&')}`;
    };
    const good = await presign(USER_SECRET);
    expect((await send('GET', good, { host: url.host })).status).toBe(200);
    expect(await send('GET', await presign('not-the-secret'), { host: url.host })).toMatchObject({ status: 403, body: expect.stringContaining('SignatureDoesNotMatch') });
    expect(await send('GET', good.replace('people.csv', 'people.csv.gz'), { host: url.host })).toMatchObject({ status: 403, body: expect.stringContaining('SignatureDoesNotMatch') });
  });

  it('lets unsigned reads through for the public bucket only', async () => {
    expect((await send('GET', `/${PUBLIC_BUCKET}/${FIXTURES.peopleCsv}`, {})).status).toBe(200);
    expect((await send('GET', `/${PUBLIC_BUCKET}?list-type=2`, {})).status).toBe(200);
    expect(await send('PUT', `/${PUBLIC_BUCKET}/sigv4/anonymous.txt`, {}, 'x')).toMatchObject({ status: 403, body: expect.stringContaining('AccessDenied') });
    expect(await send('GET', peoplePath, {})).toMatchObject({ status: 403, body: expect.stringContaining('<Code>AccessDenied</Code>') });
  });
});
