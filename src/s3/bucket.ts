import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { createS3Client } from './client.js';
import { mapAwsError, type AwsErrorContext } from './errors.js';
import { readObjectBytes } from './object-reader.js';
import type { S3Object, S3Settings, SecretSink } from './settings.js';
import { requireCjs } from '../cjs-require.js';

const sdk = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

/** What one GetObject answered, before its body is read. */
export interface ObjectResponse {
  body: Readable;
  etag?: string;
  contentLength?: number;
  contentRange?: string;
}

/**
 * Lists and reads objects of one bucket. Every failure comes out as a
 * ConnectorError naming the bucket, prefix or key; `bytesFetched` counts
 * object bytes received, so callers (and tests) can see how much was read.
 */
export class Bucket {
  readonly name: string;
  bytesFetched = 0;
  requests = 0;
  private readonly client: S3Client;
  private readonly settings: S3Settings;

  constructor(settings: S3Settings, secrets: SecretSink) {
    this.settings = settings;
    this.name = settings.bucket;
    this.client = createS3Client(settings, secrets);
  }

  /** Every object under `prefix` (folder markers excluded), page by page (S3 pages hold up to 1,000 keys). */
  async *list(prefix: string, pageSize?: number): AsyncGenerator<S3Object> {
    for await (const page of this.listPages(prefix, pageSize)) yield* page;
  }

  /**
   * The objects under `prefix`, one array per ListObjectsV2 page: a caller that has seen enough
   * stops between pages, and no further page is requested.
   */
  async *listPages(prefix: string, pageSize?: number): AsyncGenerator<S3Object[]> {
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        this.requests++;
        page = await this.client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.name, Prefix: prefix === '' ? undefined : prefix, ContinuationToken: continuationToken, MaxKeys: pageSize }),
        );
      } catch (error) {
        throw mapAwsError(error, this.context({ operation: 'list', prefix }));
      }
      const objects: S3Object[] = [];
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined || entry.Key.endsWith('/')) continue;
        objects.push({
          key: entry.Key,
          size: entry.Size ?? 0,
          lastModified: entry.LastModified ?? new Date(0),
          ...(entry.ETag === undefined ? {} : { etag: entry.ETag }),
        });
      }
      yield objects;
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  /** Whether any object (not a folder marker) exists under `prefix`; usually one request, which also proves credentials and bucket. */
  async hasAnyObject(prefix: string): Promise<boolean> {
    const objects = this.list(prefix, 100);
    const first = await objects.next();
    await objects.return(undefined);
    return first.done !== true;
  }

  /**
   * One GetObject: the body of the object, or of bytes [start, end] (end
   * inclusive; open-ended when absent), only if its ETag still is `ifMatch`.
   * Request failures are mapped; the body is the caller's to read and check
   * (see object-reader.ts, which does).
   */
  async get(key: string, options: { range?: { start: number; end?: number }; ifMatch?: string } = {}): Promise<ObjectResponse> {
    const { range, ifMatch } = options;
    let response;
    try {
      this.requests++;
      response = await this.client.send(
        new sdk.GetObjectCommand({
          Bucket: this.name,
          Key: key,
          Range: range === undefined ? undefined : `bytes=${range.start}-${range.end ?? ''}`,
          IfMatch: ifMatch,
        }),
      );
    } catch (error) {
      throw mapAwsError(error, this.context({ operation: 'read', key }));
    }
    const body = response.Body as Readable | undefined;
    if (body === undefined) throw mapAwsError(new Error('GetObject returned no body'), this.context({ operation: 'read', key }));
    body.on('data', (chunk: Buffer) => {
      this.bytesFetched += chunk.length;
    });
    return {
      body,
      ...(response.ETag === undefined ? {} : { etag: response.ETag }),
      ...(response.ContentLength === undefined ? {} : { contentLength: response.ContentLength }),
      ...(response.ContentRange === undefined ? {} : { contentRange: response.ContentRange }),
    };
  }

  /**
   * Bytes [start, end] (inclusive) of a listed object, in memory; for small
   * reads such as a Parquet footer or a text sample. Checked and resumed like
   * a whole download (object-reader.ts).
   */
  async readRange(object: S3Object, start: number, end: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await readObjectBytes(this, object, { start, end }, async (chunk) => {
      chunks.push(chunk);
    });
    return Buffer.concat(chunks);
  }

  context(partial: Pick<AwsErrorContext, 'operation'> & Partial<AwsErrorContext>): AwsErrorContext {
    return {
      bucket: this.name,
      region: this.settings.region,
      authType: this.settings.credentials.auth_type,
      forcePathStyle: this.settings.forcePathStyle,
      ...(this.settings.endpoint === undefined ? {} : { endpoint: this.settings.endpoint }),
      ...partial,
    };
  }

  destroy(): void {
    this.client.destroy();
  }
}
