import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { localS3Client } from '../../scripts/local-s3.mjs';
import { BUCKET, USER_KEY_ID, USER_SECRET } from './constants.js';
import { endpoint } from './cli.js';

/** A plain S3 client for tests to put and delete their own objects on the local server. */
export function testClient(): S3Client {
  return localS3Client(endpoint(), USER_KEY_ID, USER_SECRET);
}

export async function putObject(client: S3Client, key: string, body: Buffer | string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

export async function deleteObject(client: S3Client, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
}
