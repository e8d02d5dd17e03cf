import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does to a matching response instead of passing it on plainly:
 * - stall: hold it, before its headers (no `afterBytes`) or after that many
 *   body bytes, for `ms` or (without) until the client hangs up;
 * - cut: end it after `afterBytes` body bytes, either cleanly without a
 *   Content-Length (`contentLength: false`: chunked, the client cannot tell),
 *   or by closing the connection short of the Content-Length it announced;
 * - reset: destroy the socket (TCP RST) after `afterBytes` body bytes;
 * - before: run something first (say, rewrite the object), then pass it on.
 */
export type Fault =
  | { kind: 'stall'; afterBytes?: number; ms?: number }
  | { kind: 'cut'; afterBytes: number; contentLength: boolean }
  | { kind: 'reset'; afterBytes: number }
  | { kind: 'before'; run: () => Promise<void> };

/**
 * GETs of one key, or ListObjects requests. With `download`, only the GETs that fetch the object
 * from some byte to its end (no Range, or `bytes=N-`), not the closed ranges samples and footers use.
 */
export type FaultTarget = { get: string; download?: boolean } | 'list';

export interface FaultRule {
  target: FaultTarget;
  fault: Fault;
  /** Matching requests still to fault. */
  remaining: number;
  /** Matching requests faulted so far. */
  hits: number;
}

/**
 * An HTTP proxy in front of the S3 server that can answer the next requests
 * with an error (to exercise retries), misbehave on the next GETs of a key or
 * listings (see Fault), and counts the response bytes it passes on (to see how
 * much a command fetched).
 */
export class FaultProxy {
  /** Requests still to fail; each answered with `failStatus` and `failCode`. */
  failNext = 0;
  failStatus = 503;
  failCode = 'SlowDown';
  /** Answer 412 PreconditionFailed to a GET whose If-Match is not the object's ETag, as S3 does (s3rver ignores If-Match). */
  honorIfMatch = false;
  requests = 0;
  failedRequests = 0;
  bytesByKey = new Map<string, number>();
  /** Headers of every request received, in order. */
  headers: IncomingHttpHeaders[] = [];
  /** Every request received, in order: method, decoded path (without the query) and headers. */
  log: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];
  private server: Server | undefined;
  private readonly target: URL;
  private rules: FaultRule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(target: string) {
    this.target = new URL(target);
  }

  async start(): Promise<string> {
    this.server = createServer((incoming, outgoing) => {
      this.requests++;
      this.headers.push(incoming.headers);
      this.log.push({ method: incoming.method ?? 'GET', path: decodeURIComponent((incoming.url ?? '/').split('?')[0] ?? ''), headers: incoming.headers });
      if (this.failNext > 0) {
        this.failNext--;
        this.failedRequests++;
        incoming.resume();
        outgoing.writeHead(this.failStatus, { 'content-type': 'application/xml' });
        outgoing.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${this.failCode}</Code><Message>injected by the test proxy</Message></Error>`);
        return;
      }
      const path = incoming.url ?? '/';
      const range = incoming.headers.range;
      const rule = this.takeRule(incoming.method ?? 'GET', path, typeof range === 'string' ? range : undefined);
      this.pass(incoming, outgoing, path, rule?.fault).catch(() => outgoing.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Faults the next `times` requests matching `target` (GETs of a key, or listings). */
  inject(target: FaultTarget, fault: Fault, times = 1): FaultRule {
    const rule: FaultRule = { target, fault, remaining: times, hits: 0 };
    this.rules.push(rule);
    return rule;
  }

  clearFaults(): void {
    this.rules = [];
  }

  private takeRule(method: string, path: string, range: string | undefined): FaultRule | undefined {
    if (method !== 'GET') return undefined;
    const toEnd = range === undefined || /^bytes=\d+-$/.test(range);
    const [pathname = '', query = ''] = path.split('?');
    const key = decodeURIComponent(pathname);
    const isList = /(^|&)list-type=2(&|$)/.test(query);
    const rule = this.rules.find(
      (candidate) =>
        candidate.remaining > 0 &&
        (candidate.target === 'list' ? isList : !isList && key.endsWith(`/${candidate.target.get}`) && (candidate.target.download !== true || toEnd)),
    );
    if (rule === undefined) return undefined;
    rule.remaining--;
    rule.hits++;
    return rule;
  }

  /** Passes one request on to the server and its response back, with the fault if any. */
  private async pass(incoming: IncomingMessage, outgoing: ServerResponse, path: string, fault: Fault | undefined): Promise<void> {
    if (fault?.kind === 'before') await fault.run();
    const key = decodeURIComponent(path.split('?')[0] ?? '');
    const upstream = httpRequest(
      { host: this.target.hostname, port: this.target.port, method: incoming.method, path, headers: incoming.headers },
      (response) => {
        const ifMatch = incoming.headers['if-match'];
        if (this.honorIfMatch && ifMatch !== undefined && response.statusCode !== undefined && response.statusCode < 300 && response.headers.etag !== ifMatch) {
          response.destroy();
          outgoing.writeHead(412, { 'content-type': 'application/xml' });
          outgoing.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>');
          return;
        }
        const headers = { ...response.headers };
        if (fault?.kind === 'cut' && !fault.contentLength) delete headers['content-length'];
        const count = (bytes: number) => this.bytesByKey.set(key, (this.bytesByKey.get(key) ?? 0) + bytes);
        const start = () => {
          if (outgoing.destroyed) return;
          outgoing.writeHead(response.statusCode ?? 502, headers);
          const afterBytes = fault !== undefined && 'afterBytes' in fault ? fault.afterBytes : undefined;
          let sent = 0;
          let tripped = false;
          response.on('data', (chunk: Buffer) => {
            if (tripped || afterBytes === undefined || sent + chunk.length < afterBytes) {
              sent += chunk.length;
              count(chunk.length);
              outgoing.write(chunk);
              return;
            }
            tripped = true;
            const part = chunk.subarray(0, afterBytes - sent);
            sent += part.length;
            count(part.length);
            if (fault!.kind === 'stall') {
              const rest = chunk.subarray(part.length);
              // Headers go out even when the stall is before the first body byte.
              outgoing.flushHeaders();
              outgoing.write(part);
              response.pause();
              this.hold(fault!.ms, () => {
                if (outgoing.destroyed) return;
                count(rest.length);
                outgoing.write(rest);
                response.resume();
              });
            } else if (fault!.kind === 'cut') {
              response.destroy();
              if (fault!.contentLength) outgoing.write(part, () => outgoing.socket?.end());
              else outgoing.end(part);
            } else {
              response.destroy();
              outgoing.write(part, () => outgoing.socket?.resetAndDestroy());
            }
          });
          response.on('end', () => outgoing.end());
        };
        if (fault?.kind === 'stall' && fault.afterBytes === undefined) this.hold(fault.ms, start);
        else start();
      },
    );
    upstream.on('error', () => outgoing.destroy());
    // A client that gave up (timed out) ends the upstream exchange too.
    outgoing.on('close', () => upstream.destroy());
    incoming.pipe(upstream);
  }

  /** Runs `then` after `ms`, or never (a stall until the client hangs up or the proxy stops). */
  private hold(ms: number | undefined, then: () => void): void {
    if (ms === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      then();
    }, ms);
    this.timers.add(timer);
  }

  /** The logged GETs of an object (not listings), in order. */
  getsOf(key: string): { method: string; path: string; headers: IncomingHttpHeaders }[] {
    return this.log.filter((entry) => entry.method === 'GET' && entry.path.endsWith(`/${key}`));
  }

  /** Bytes passed on for paths ending with the given key. */
  bytesFor(key: string): number {
    let total = 0;
    for (const [path, bytes] of this.bytesByKey) if (path.endsWith(`/${key}`)) total += bytes;
    return total;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    // Stalled exchanges would keep close() waiting.
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
