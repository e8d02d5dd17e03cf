/** Names shared by the test harness and the tests. Keys are fake, made for the local server only. */
export const BUCKET = 'source-s3-test';
export const EMPTY_BUCKET = 'source-s3-empty';
export const USER_KEY_ID = 'AKIATESTUSER0001';
export const USER_SECRET = 'test-user-secret-Xq9vR2pL7mN4kJ8w';
export const ENV_KEY_ID = 'AKIATESTENVCHAIN1';
export const ENV_SECRET = 'test-env-secret-Zt5yH3bV6cD1fG0s';
export const ROLE_BASE_KEY_ID = 'AKIATESTROLEBASE1';
export const ROLE_BASE_SECRET = 'test-role-base-secret-Lk2jH5gF8dS1aP';
export const ROLE_TEMP_KEY_ID = 'ASIATESTROLETEMP1';
export const ROLE_TEMP_SECRET = 'test-role-temp-secret-Qw3eR6tY9uI2oP';
export const ROLE_SESSION_TOKEN = 'test-role-session-token-Mn8bV5cX2zA4sD7fG1hJ';
export const EXTERNAL_ID = 'test-external-id-Pq7wE4rT1yU9';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/source-s3-test-reader';

/** Every secret a test run uses; none may ever appear in the connector's output. */
export const ALL_SECRETS = [USER_SECRET, ENV_SECRET, ROLE_BASE_SECRET, ROLE_TEMP_SECRET, ROLE_SESSION_TOKEN, EXTERNAL_ID];

/** Key pairs the local S3 server accepts. */
export const SERVER_KEYS: [string, string][] = [
  [USER_KEY_ID, USER_SECRET],
  [ENV_KEY_ID, ENV_SECRET],
  [ROLE_TEMP_KEY_ID, ROLE_TEMP_SECRET],
];

/** A bucket that allows anonymous reads (the test front lets unsigned GET and HEAD through for it only). */
export const PUBLIC_BUCKET = 'source-s3-public';

/** Every key the test front verifies signatures with; requests with the temporary key must carry its session token. */
export const SIGNING_KEYS = SERVER_KEYS.map(([accessKeyId, secretAccessKey]) => ({
  accessKeyId,
  secretAccessKey,
  ...(accessKeyId === ROLE_TEMP_KEY_ID ? { sessionToken: ROLE_SESSION_TOKEN } : {}),
}));
