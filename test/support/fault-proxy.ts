import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of the S3 server that can answer the next requests
 * with an error (to exercise retries) and counts the response bytes it passes
 * on (to see how much a command fetched).
 */
export class FaultProxy {
  /** Requests still to fail; each answered with `failStatus` and `failCode`. */
  failNext = 0;
  failStatus = 503;
  failCode = 'SlowDown';
  requests = 0;
  failedRequests = 0;
  bytesByKey = new Map<string, number>();
  /** Headers of every request received, in order. */
  headers: IncomingHttpHeaders[] = [];
  private server: Server | undefined;
  private readonly target: URL;

  constructor(target: string) {
    this.target = new URL(target);
  }

  async start(): Promise<string> {
    this.server = createServer((incoming, outgoing) => {
      this.requests++;
      this.headers.push(incoming.headers);
      if (this.failNext > 0) {
        this.failNext--;
        this.failedRequests++;
        incoming.resume();
        outgoing.writeHead(this.failStatus, { 'content-type': 'application/xml' });
        outgoing.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${this.failCode}</Code><Message>injected by the test proxy</Message></Error>`);
        return;
      }
      const path = incoming.url ?? '/';
      const upstream = httpRequest(
        { host: this.target.hostname, port: this.target.port, method: incoming.method, path, headers: incoming.headers },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.on('data', (chunk: Buffer) => {
            const key = decodeURIComponent(path.split('?')[0] ?? '');
            this.bytesByKey.set(key, (this.bytesByKey.get(key) ?? 0) + chunk.length);
          });
          response.pipe(outgoing);
        },
      );
      upstream.on('error', () => outgoing.destroy());
      incoming.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Bytes passed on for paths ending with the given key. */
  bytesFor(key: string): number {
    let total = 0;
    for (const [path, bytes] of this.bytesByKey) if (path.endsWith(`/${key}`)) total += bytes;
    return total;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
