import type { IAMRoleAssumeRoleWithExternalID } from '../generated/config.js';
import { mapAwsError } from './errors.js';
import type { S3Settings, SecretSink } from './settings.js';
import { requireCjs } from '../cjs-require.js';

export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsCredentialIdentityProvider = (properties?: Record<string, unknown>) => Promise<AwsCredentialIdentity>;

/** Role sessions last an hour; the S3 client refreshes them five minutes before they expire. */
const ROLE_SESSION_SECONDS = 3600;

/**
 * The credential provider for an auth mode, or undefined for anonymous access.
 * Every secret a provider resolves is passed to `secrets` first.
 */
export function credentialProvider(settings: S3Settings, secrets: SecretSink): AwsCredentialIdentityProvider | undefined {
  const credentials = settings.credentials;
  switch (credentials.auth_type) {
    case 'iam_user': {
      const identity = { accessKeyId: credentials.aws_access_key_id, secretAccessKey: credentials.aws_secret_access_key };
      return async () => identity;
    }
    case 'iam_role':
      return assumeRoleProvider(credentials, settings.region, secrets);
    case 'default_chain':
      return reportingSecrets(defaultChain(), secrets);
    case 'anonymous':
      return undefined;
  }
}

// STS and the credential chain load only for the auth modes that use them (~50 ms at start-up otherwise).
function defaultChain(): AwsCredentialIdentityProvider {
  const { fromNodeProviderChain } = requireCjs('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers');
  return fromNodeProviderChain();
}

function reportingSecrets(provider: AwsCredentialIdentityProvider, secrets: SecretSink): AwsCredentialIdentityProvider {
  return async (properties) => {
    const identity = await provider(properties);
    secrets(identity.secretAccessKey);
    secrets(identity.sessionToken);
    return identity;
  };
}

/**
 * AssumeRole with the external ID. The STS endpoint follows the SDK's own
 * settings (AWS_ENDPOINT_URL_STS), which is also how tests point it at a local server.
 */
function assumeRoleProvider(credentials: IAMRoleAssumeRoleWithExternalID, region: string, secrets: SecretSink): AwsCredentialIdentityProvider {
  const base =
    credentials.aws_access_key_id !== undefined && credentials.aws_access_key_id !== ''
      ? { accessKeyId: credentials.aws_access_key_id, secretAccessKey: credentials.aws_secret_access_key ?? '' }
      : reportingSecrets(defaultChain(), secrets);
  const { AssumeRoleCommand, STSClient } = requireCjs('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
  const sts = new STSClient({ region, credentials: base, maxAttempts: 3 });
  const sessionName = credentials.role_session_name ?? `source-s3-${Date.now()}`;
  return async (): Promise<AwsCredentialIdentity> => {
    let response;
    try {
      response = await sts.send(
        new AssumeRoleCommand({
          RoleArn: credentials.role_arn,
          ExternalId: credentials.external_id,
          RoleSessionName: sessionName,
          DurationSeconds: ROLE_SESSION_SECONDS,
        }),
      );
    } catch (error) {
      throw mapAwsError(error, { operation: 'assume role', roleArn: credentials.role_arn });
    }
    const issued = response.Credentials;
    if (issued?.AccessKeyId === undefined || issued.SecretAccessKey === undefined) {
      throw mapAwsError(new Error('STS AssumeRole returned no credentials'), { operation: 'assume role', roleArn: credentials.role_arn });
    }
    secrets(issued.SecretAccessKey);
    secrets(issued.SessionToken);
    return {
      accessKeyId: issued.AccessKeyId,
      secretAccessKey: issued.SecretAccessKey,
      ...(issued.SessionToken === undefined ? {} : { sessionToken: issued.SessionToken }),
      ...(issued.Expiration === undefined ? {} : { expiration: issued.Expiration }),
    };
  };
}
