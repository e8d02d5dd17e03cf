import { ConnectorError } from '../protocol/errors.js';

export interface AwsErrorContext {
  operation: 'list' | 'read' | 'assume role';
  bucket?: string;
  key?: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  roleArn?: string;
  authType?: string;
  forcePathStyle?: boolean;
}

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'ServiceUnavailable']);
const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO']);
const NETWORK_TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  errors?: AwsLikeError[];
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $response?: { headers?: Record<string, string | undefined>; statusCode?: number };
}

function errorCode(error: AwsLikeError): string {
  // Node reports a refused dual-stack connect as an AggregateError whose parts carry the code.
  return error.code ?? error.errors?.find((part) => part.code !== undefined)?.code ?? error.name ?? 'Unknown';
}

function where(context: AwsErrorContext): string {
  if (context.key !== undefined) return `s3://${context.bucket}/${context.key}`;
  if (context.bucket !== undefined) return `s3://${context.bucket}/${context.prefix ?? ''}`;
  return 'S3';
}

function endpointName(context: AwsErrorContext): string {
  return context.endpoint ?? `AWS S3 (region ${context.region ?? 'us-east-1'})`;
}

function attempts(error: AwsLikeError): string {
  const count = error.$metadata?.attempts;
  return count !== undefined && count > 1 ? ` after ${count} attempts` : '';
}

/** Maps an AWS SDK or network error to a ConnectorError a person can act on. */
export function mapAwsError(raw: unknown, context: AwsErrorContext): ConnectorError {
  if (raw instanceof ConnectorError) return raw;
  const error = (raw ?? {}) as AwsLikeError;
  const code = errorCode(error);
  const status = error.$metadata?.httpStatusCode ?? error.$response?.statusCode;
  const internalMessage = `${context.operation} ${where(context)}: ${code}${status === undefined ? '' : ` (HTTP ${status})`}: ${error.message ?? String(raw)}`;
  const make = (failureType: ConnectorError['failureType'], message: string) =>
    new ConnectorError(failureType, message, { internalMessage, cause: raw });

  if (context.operation === 'assume role') return mapStsError(error, code, context, make);

  if (NETWORK_UNREACHABLE.has(code)) {
    // Virtual-host addressing asks for <bucket>.<host>, which S3-compatible stores rarely resolve.
    const pathStyleHint =
      context.endpoint !== undefined && context.forcePathStyle === false && code === 'ENOTFOUND'
        ? ` With force_path_style false the host asked for is ${context.bucket}.${new URL(context.endpoint).host}; S3-compatible stores usually need force_path_style: true.`
        : '';
    return make(
      'config_error',
      `Cannot reach ${endpointName(context)} (${code})${attempts(error)}. Check endpoint (scheme, host, port) and that the server is running and reachable from this machine.${pathStyleHint}`,
    );
  }
  if (error.name === 'TimeoutError' || code === 'TimeoutError') {
    // Raised by the HTTP handler: no connection, no answer or a silent socket within the timeouts.
    return make(
      'transient_error',
      `${endpointName(context)} did not answer in time${attempts(error)} while trying to ${context.operation} ${where(context)} (${timeoutKind(error.message)}). Try again later; the limits are SOURCE_S3_CONNECT_TIMEOUT_SECONDS, SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS and SOURCE_S3_IDLE_TIMEOUT_SECONDS.`,
    );
  }
  if (NETWORK_TRANSIENT.has(code)) {
    return make('transient_error', `The connection to ${endpointName(context)} failed (${code})${attempts(error)} while trying to ${context.operation} ${where(context)}. Try again later.`);
  }
  if (THROTTLING.has(code) || status === 503 || status === 429) {
    return make('transient_error', `S3 is throttling requests (${code})${attempts(error)} while trying to ${context.operation} ${where(context)}. Try again later or lower the request rate.`);
  }
  switch (code) {
    case 'CredentialsProviderError':
      return make('config_error', 'No AWS credentials were found in the default chain (environment variables, shared config/credentials files, web identity token, container or instance metadata). Provide one of them, or choose another credentials.auth_type.');
    case 'InvalidAccessKeyId':
      return make('config_error', `S3 does not recognize the access key ID (InvalidAccessKeyId). Check ${keyField(context)}: it may be mistyped, deleted or for another account or endpoint.`);
    case 'SignatureDoesNotMatch':
      return make('config_error', `The secret access key does not match the access key ID (SignatureDoesNotMatch). Check ${secretField(context)}.`);
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'InvalidToken':
      return make('config_error', `The session token was rejected (${code}). Refresh the credentials given to the connector.`);
    case 'NoSuchBucket':
      return make('config_error', `Bucket "${context.bucket}" does not exist at ${endpointName(context)}. Check bucket${context.endpoint === undefined ? ' and region' : ' and endpoint'}.`);
    case 'InvalidBucketName':
      return make('config_error', `"${context.bucket}" is not a valid bucket name. Check bucket (3-63 lowercase letters, digits, dots and hyphens).`);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
    case 'Redirect': {
      const actual = error.$response?.headers?.['x-amz-bucket-region'] ?? /expecting '([a-z0-9-]+)'/.exec(error.message ?? '')?.[1];
      return make('config_error', `Bucket "${context.bucket}" is not in region ${context.region ?? 'us-east-1'}${actual === undefined ? '' : `; it is in ${actual}`}. Set region${actual === undefined ? ' to the bucket\'s region' : ` to ${actual}`}.`);
    }
    case 'AccessDenied':
    case 'AllAccessDisabled':
    case 'Forbidden':
      return make('config_error', accessDeniedMessage(context));
    case 'NoSuchKey':
    case 'NotFound':
      if (context.key !== undefined) {
        return make('transient_error', `${where(context)} was listed but is gone now (deleted or replaced during the sync). Run the sync again.`);
      }
      break;
    case 'InvalidObjectState':
      return make('config_error', `${where(context)} is archived (Glacier/Deep Archive) and cannot be read. Restore it, or exclude it from the stream's globs.`);
    case 'PreconditionFailed':
      // If-Match with the listed ETag failed: the object was rewritten after it was listed.
      if (context.key !== undefined) {
        return make('transient_error', `${where(context)} changed while being read (its ETag is no longer the listed one). Nothing of it was used; the next sync reads it again.`);
      }
      break;
    case 'InvalidRange':
      return make('transient_error', `${where(context)} changed size while being read. Run the sync again.`);
  }
  if (status === 301 || status === 307) {
    return make('config_error', `Bucket "${context.bucket}" answered with a redirect (HTTP ${status}): it is probably in another region than ${context.region ?? 'us-east-1'}. Set region to the bucket's region.`);
  }
  if (status === 403) return make('config_error', accessDeniedMessage(context));
  if (/Deserialization error|not expected|Expected closing tag/i.test(error.message ?? '')) {
    return make('config_error', `${endpointName(context)} did not answer like an S3 server${status === undefined ? '' : ` (HTTP ${status})`}. Check endpoint and force_path_style.`);
  }
  if (status !== undefined && status >= 500) {
    return make('transient_error', `S3 answered with a server error (HTTP ${status}, ${code})${attempts(error)} while trying to ${context.operation} ${where(context)}. Try again later.`);
  }
  if (status !== undefined && status >= 400) {
    return make('config_error', `S3 refused to ${context.operation} ${where(context)} (HTTP ${status}, ${code}): ${error.message ?? 'no details'}.`);
  }
  return make('system_error', `Unexpected error while trying to ${context.operation} ${where(context)}: ${code}: ${error.message ?? String(raw)}`);
}

function timeoutKind(message: string | undefined): string {
  if (/establish a connection/.test(message ?? '')) return 'no connection';
  if (/requestTimeout/.test(message ?? '')) return 'no response';
  if (/inactivity/.test(message ?? '')) return 'the connection went silent';
  return 'timed out';
}

function keyField(context: AwsErrorContext): string {
  if (context.authType === 'default_chain') return 'the access key of the default credential chain (e.g. AWS_ACCESS_KEY_ID)';
  return 'credentials.aws_access_key_id';
}

function secretField(context: AwsErrorContext): string {
  if (context.authType === 'default_chain') return 'the secret key of the default credential chain (e.g. AWS_SECRET_ACCESS_KEY)';
  return 'credentials.aws_secret_access_key';
}

function accessDeniedMessage(context: AwsErrorContext): string {
  const anonymous = context.authType === 'anonymous' ? ' The bucket does not allow anonymous (public) access; choose an auth_type with credentials.' : '';
  if (context.operation === 'list') {
    return `Access denied listing ${where(context)}. The credentials need s3:ListBucket on arn:aws:s3:::${context.bucket}${context.prefix ? ` (for prefix ${context.prefix})` : ''}.${anonymous}`;
  }
  return `Access denied reading ${where(context)}. The credentials need s3:GetObject on arn:aws:s3:::${context.bucket}/${context.key ?? '*'} (and kms:Decrypt if the object is KMS-encrypted).${anonymous}`;
}

function mapStsError(
  error: AwsLikeError,
  code: string,
  context: AwsErrorContext,
  make: (failureType: ConnectorError['failureType'], message: string) => ConnectorError,
): ConnectorError {
  const role = context.roleArn ?? 'the role';
  if (NETWORK_UNREACHABLE.has(code) || NETWORK_TRANSIENT.has(code)) {
    return make('transient_error', `Cannot reach AWS STS to assume ${role} (${code})${attempts(error)}. Check network access to STS and try again.`);
  }
  switch (code) {
    case 'CredentialsProviderError':
      return make('config_error', `No base AWS credentials were found to call STS for ${role}. Set credentials.aws_access_key_id and credentials.aws_secret_access_key, or provide credentials through the default chain (environment, profile, web identity, instance metadata).`);
    case 'AccessDenied':
      return make('config_error', `Access denied assuming ${role}. Check that the role's trust policy allows the calling identity and that credentials.external_id matches the external ID it requires.`);
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
      return make('config_error', `STS rejected the base credentials used to assume ${role} (${code}). Check credentials.aws_access_key_id and credentials.aws_secret_access_key.`);
    case 'ExpiredToken':
      return make('config_error', `The base session token used to assume ${role} has expired. Refresh it.`);
    case 'RegionDisabledException':
      return make('config_error', `STS is not enabled in region ${context.region ?? 'us-east-1'} for this account. Activate it in IAM or set region.`);
    case 'MalformedPolicyDocument':
    case 'ValidationError':
      return make('config_error', `STS rejected the AssumeRole request for ${role} (${code}): ${error.message ?? ''}. Check credentials.role_arn and credentials.role_session_name.`);
  }
  const status = error.$metadata?.httpStatusCode;
  if (THROTTLING.has(code) || (status !== undefined && status >= 500)) {
    return make('transient_error', `STS could not assume ${role} right now (${code})${attempts(error)}. Try again later.`);
  }
  return make('config_error', `Could not assume ${role} (${code}): ${error.message ?? 'no details'}.`);
}
