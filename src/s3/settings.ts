import type { Authentication } from '../generated/config.js';

/** What the S3 layer needs to reach a bucket. */
export interface S3Settings {
  bucket: string;
  region: string;
  credentials: Authentication;
  endpoint?: string;
  forcePathStyle: boolean;
}

/** One object as listed. */
export interface S3Object {
  key: string;
  size: number;
  lastModified: Date;
  etag?: string;
}

/** Receives every credential value the S3 layer learns, so output can be redacted. */
export type SecretSink = (value: string | undefined) => void;
