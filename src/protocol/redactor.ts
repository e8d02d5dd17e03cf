/**
 * Replaces every known secret value with a mask. Secrets are registered as soon
 * as they are known (raw config text, parsed config fields marked airbyte_secret,
 * credentials from the environment), before any message that could echo them.
 */
export class SecretRedactor {
  private readonly secrets = new Set<string>();
  private static readonly MASK = '****';
  // Short values would mask ordinary words; AWS secrets are all long.
  private static readonly MIN_LENGTH = 4;

  add(value: unknown): void {
    if (typeof value !== 'string') return;
    const trimmed = value.trim();
    if (trimmed.length < SecretRedactor.MIN_LENGTH) return;
    this.secrets.add(trimmed);
    // JSON-escaped form, in case the secret holds quotes or backslashes and is echoed inside JSON text.
    this.secrets.add(JSON.stringify(trimmed).slice(1, -1));
  }

  redact(text: string): string {
    let result = text;
    // Longest first, so a secret containing another is masked whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (result.includes(secret)) result = result.split(secret).join(SecretRedactor.MASK);
    }
    return result;
  }

  /** Redacts every string inside a JSON-compatible value. */
  redactValue<T>(value: T): T {
    if (this.secrets.size === 0) return value;
    return this.redactDeep(value) as T;
  }

  private redactDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((item) => this.redactDeep(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.redactDeep(item)]));
    }
    return value;
  }
}
