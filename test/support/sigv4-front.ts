import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SigV4Verifier, type Refusal, type TestKey } from './sigv4-verify.js';

/**
 * An HTTP front for the test S3 server that checks every request's SigV4
 * signature, since s3rver checks only the key id. It answers a refused request
 * the way S3 does (status and XML error code) and passes the rest on unchanged.
 * Unsigned (anonymous) requests pass only as reads of the public buckets, as a
 * bucket policy allowing public s3:GetObject and s3:ListBucket would let them.
 */
export class SigV4Front {
  private server: Server | undefined;
  private readonly target: URL;
  private readonly verifier: SigV4Verifier;
  private readonly publicBuckets: Set<string>;

  constructor(target: string, keys: TestKey[], publicBuckets: string[] = []) {
    this.target = new URL(target);
    this.verifier = new SigV4Verifier(keys);
    this.publicBuckets = new Set(publicBuckets);
  }

  async start(): Promise<string> {
    this.server = createServer((incoming, outgoing) => {
      this.handle(incoming, outgoing).catch((error: unknown) => {
        if (!outgoing.headersSent) answerError(incoming, outgoing, { status: 500, code: 'InternalError', message: `test front: ${String(error)}` });
        else outgoing.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const method = incoming.method ?? 'GET';
    const url = incoming.url ?? '/';
    const verdict = await this.verifier.verify({ method, url, headers: incoming.headers });
    if (!verdict.ok) return answerError(incoming, outgoing, verdict);
    if (!verdict.signed && !this.allowsAnonymous(method, url)) {
      return answerError(incoming, outgoing, { status: 403, code: 'AccessDenied', message: 'Access Denied' });
    }
    if (verdict.signed && verdict.bodySha256 !== undefined) {
      // The signature covers the body's hash: S3 checks the body against it.
      const body = await readBody(incoming);
      if (createHash('sha256').update(body).digest('hex') !== verdict.bodySha256) {
        return answerError(incoming, outgoing, { status: 400, code: 'XAmzContentSHA256Mismatch', message: "The provided 'x-amz-content-sha256' header does not match what was computed." });
      }
      return this.forward(incoming, outgoing, body);
    }
    this.forward(incoming, outgoing);
  }

  /** Path-style addressing: the bucket is the first path segment. */
  private allowsAnonymous(method: string, url: string): boolean {
    const bucket = decodeURIComponent(url.split('?')[0]!.split('/')[1] ?? '');
    return (method === 'GET' || method === 'HEAD') && this.publicBuckets.has(bucket);
  }

  private forward(incoming: IncomingMessage, outgoing: ServerResponse, body?: Buffer): void {
    const upstream = httpRequest(
      { host: this.target.hostname, port: this.target.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    if (body === undefined) incoming.pipe(upstream);
    else upstream.end(body);
  }
}

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** S3's error shape; HEAD answers carry no body, as S3's do. */
function answerError(incoming: IncomingMessage, outgoing: ServerResponse, refusal: Refusal): void {
  incoming.resume();
  outgoing.writeHead(refusal.status, { 'content-type': 'application/xml', 'x-amz-request-id': 'SIGV4FRONT' });
  if (incoming.method === 'HEAD') return void outgoing.end();
  outgoing.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${escapeXml(refusal.message)}</Message><RequestId>SIGV4FRONT</RequestId></Error>`,
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
