import { describe, expect, it } from 'vitest';
import { mapAwsError } from '../../src/s3/errors.js';
import { GlobMatcher } from '../../src/s3/globs.js';

const serviceError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} from S3`), { name, $metadata: { httpStatusCode: status, attempts: 1 }, ...extra });

const listing = { operation: 'list' as const, bucket: 'data', prefix: 'exports/', region: 'us-east-1' };

describe('mapAwsError', () => {
  it('tells the region a bucket lives in when the configured one is wrong', () => {
    const error = mapAwsError(
      serviceError('PermanentRedirect', 301, { $response: { headers: { 'x-amz-bucket-region': 'eu-west-1' } } }),
      listing,
    );
    expect(error.failureType).toBe('config_error');
    expect(error.message).toBe('Bucket "data" is not in region us-east-1; it is in eu-west-1. Set region to eu-west-1.');
  });

  it('reads the region from an AuthorizationHeaderMalformed message', () => {
    const error = mapAwsError(
      serviceError('AuthorizationHeaderMalformed', 400, { message: "the region 'us-east-1' is wrong; expecting 'ap-south-1'" }),
      listing,
    );
    expect(error.message).toContain('Set region to ap-south-1');
  });

  it('names the permission missing for list and for read', () => {
    expect(mapAwsError(serviceError('AccessDenied', 403), listing).message).toContain('s3:ListBucket on arn:aws:s3:::data (for prefix exports/)');
    expect(mapAwsError(serviceError('AccessDenied', 403), { operation: 'read', bucket: 'data', key: 'a/b.csv' }).message).toContain(
      's3:GetObject on arn:aws:s3:::data/a/b.csv',
    );
    expect(mapAwsError(serviceError('AccessDenied', 403), { ...listing, authType: 'anonymous' }).message).toContain('does not allow anonymous');
  });

  it('classifies throttling, server errors and timeouts as transient', () => {
    expect(mapAwsError(serviceError('SlowDown', 503), listing).failureType).toBe('transient_error');
    expect(mapAwsError(serviceError('InternalError', 500), listing).failureType).toBe('transient_error');
    expect(mapAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), listing).failureType).toBe('transient_error');
    expect(mapAwsError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), listing).failureType).toBe('transient_error');
  });

  it('treats an unreachable host as a config problem, seen through an AggregateError too', () => {
    const refused = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:9000'), { code: 'ECONNREFUSED' })], 'connect failed');
    const error = mapAwsError(refused, { ...listing, endpoint: 'http://localhost:9000' });
    expect(error.failureType).toBe('config_error');
    expect(error.message).toContain('Cannot reach http://localhost:9000 (ECONNREFUSED)');
    expect(mapAwsError(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), listing).message).toContain('Cannot reach AWS S3 (region us-east-1)');
  });

  it('suggests force_path_style when a custom endpoint is asked for <bucket>.<host>', () => {
    const error = mapAwsError(Object.assign(new Error('getaddrinfo ENOTFOUND data.minio.internal'), { code: 'ENOTFOUND' }), {
      ...listing,
      endpoint: 'http://minio.internal:9000',
      forcePathStyle: false,
    });
    expect(error.message).toContain('the host asked for is data.minio.internal:9000; S3-compatible stores usually need force_path_style: true');
  });

  it('says a listed object that vanished is worth a retry', () => {
    const error = mapAwsError(serviceError('NoSuchKey', 404), { operation: 'read', bucket: 'data', key: 'x.csv' });
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toContain('s3://data/x.csv was listed but is gone now');
  });

  it('recognizes a server that is not S3', () => {
    const error = mapAwsError(serviceError('Unknown', 200, { message: "char 'D' is not expected.:1:1\n  Deserialization error: to see the raw response..." }), listing);
    expect(error.message).toContain('did not answer like an S3 server');
  });

  it('maps STS errors to messages about the role', () => {
    const context = { operation: 'assume role' as const, roleArn: 'arn:aws:iam::123456789012:role/r' };
    expect(mapAwsError(serviceError('AccessDenied', 403), context).message).toContain('credentials.external_id matches');
    expect(mapAwsError(serviceError('RegionDisabledException', 403), context).message).toContain('STS is not enabled');
    expect(mapAwsError(serviceError('Throttling', 400), context).failureType).toBe('transient_error');
  });

  it('keeps the raw cause in internal_message', () => {
    const error = mapAwsError(serviceError('NoSuchBucket', 404), listing);
    expect(error.internalMessage).toBe('list s3://data/exports/: NoSuchBucket (HTTP 404): NoSuchBucket from S3');
  });
});

describe('GlobMatcher', () => {
  it('matches keys relative to the path prefix', () => {
    const matcher = new GlobMatcher('exports/', ['**/*.csv']);
    expect(matcher.matches('exports/a.csv')).toBe(true);
    expect(matcher.matches('exports/2024/01/a.csv')).toBe(true);
    expect(matcher.matches('exports/a.csv.gz')).toBe(false);
    expect(matcher.matches('other/a.csv')).toBe(false);
    expect(matcher.matches('exports/.hidden/a.csv')).toBe(true);
  });

  it('matches keys holding line terminators (valid S3 keys) with ** as with *, in either case mode', () => {
    for (const key of ['exports/a\nb.csv', 'exports/a\rb.csv', 'exports/a\u2028b.csv', 'exports/x/a\u2029b.csv']) {
      expect(new GlobMatcher('', ['exports/**']).matches(key), JSON.stringify(key)).toBe(true);
      expect(new GlobMatcher('exports/', ['**']).matches(key), JSON.stringify(key)).toBe(true);
      expect(new GlobMatcher('', ['EXPORTS/**'], { caseInsensitive: true }).matches(key), JSON.stringify(key)).toBe(true);
    }
    expect(new GlobMatcher('', ['EXPORTS/**']).matches('exports/a.csv')).toBe(false);
  });

  it('lists only under the folder all globs share', () => {
    expect(new GlobMatcher('p/', ['year=2024/month=*/*.parquet']).listPrefix).toBe('p/year=2024/');
    expect(new GlobMatcher('p/', ['a/b/*.csv', 'a/c/*.csv']).listPrefix).toBe('p/a/');
    expect(new GlobMatcher('p/', ['a/*.csv', '**/*.csv']).listPrefix).toBe('p/');
    expect(new GlobMatcher('', ['data/file.csv']).listPrefix).toBe('data/');
    expect(new GlobMatcher('', ['file.csv']).listPrefix).toBe('');
  });
});

describe('mapAwsError for reads that time out or meet a changed object', () => {
  const reading = { operation: 'read' as const, bucket: 'data', key: 'a/b.csv', endpoint: 'http://store:9000' };

  it('a timeout of the HTTP handler names the object and the timeout settings, even with code ETIMEDOUT', () => {
    const raw = Object.assign(new Error('@smithy/node-http-handler - [ERROR] a request has exceeded the configured 1000 ms requestTimeout.'), {
      name: 'TimeoutError',
      code: 'ETIMEDOUT',
      $metadata: { attempts: 3 },
    });
    const error = mapAwsError(raw, reading);
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toBe(
      'http://store:9000 did not answer in time after 3 attempts while trying to read s3://data/a/b.csv (no response). Try again later; the limits are SOURCE_S3_CONNECT_TIMEOUT_SECONDS, SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS and SOURCE_S3_IDLE_TIMEOUT_SECONDS.',
    );
  });

  it('412 PreconditionFailed (If-Match with the listed ETag) says the object changed while being read', () => {
    const error = mapAwsError(serviceError('PreconditionFailed', 412), reading);
    expect(error.failureType).toBe('transient_error');
    expect(error.message).toContain('s3://data/a/b.csv changed while being read');
  });
});
