import type { Authentication } from '../generated/config.js';
import type { ZipMember } from './zip-directory.js';

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
  /** Set for a member of a .zip: `key` is `<zip key>#<member path>`, and its bytes are read from the zip. */
  member?: ZipMember;
}

/** Receives every credential value the S3 layer learns, so output can be redacted. */
export type SecretSink = (value: string | undefined) => void;
