import type { ResolvedConfig } from '../config/resolved.js';
import { Engine } from '../engine/engine.js';
import type { SecretRedactor } from '../protocol/redactor.js';
import { Bucket } from '../s3/bucket.js';
import { StagingArea } from '../s3/staging.js';

/** What a command needs to reach the data: the bucket, a staging area and the sandboxed engine over it. */
export class SourceContext {
  readonly config: ResolvedConfig;
  readonly bucket: Bucket;
  readonly staging: StagingArea;
  readonly engine: Engine;

  private constructor(config: ResolvedConfig, bucket: Bucket, staging: StagingArea, engine: Engine) {
    this.config = config;
    this.bucket = bucket;
    this.staging = staging;
    this.engine = engine;
  }

  static async open(config: ResolvedConfig, redactor: SecretRedactor): Promise<SourceContext> {
    const bucket = new Bucket(
      {
        bucket: config.bucket,
        region: config.region,
        credentials: config.credentials,
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        forcePathStyle: config.forcePathStyle,
      },
      (secret) => redactor.add(secret),
    );
    const staging = await StagingArea.create();
    try {
      return new SourceContext(config, bucket, staging, await Engine.create(staging.dir));
    } catch (error) {
      await staging.close();
      bucket.destroy();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.engine.close();
    this.bucket.destroy();
    await this.staging.close();
  }
}
