/**
 * A one-line progress display per stream on stderr, only when stderr is a
 * terminal (a person is watching); nothing otherwise. Redrawn at most 4 times
 * a second.
 */
export class ProgressDisplay {
  private lastDraw = 0;
  private readonly started = Date.now();
  private files = 0;
  private rows = 0;
  private bytes = 0;

  constructor(
    private readonly stream: string,
    private readonly totalFiles: number,
    private readonly terminal: { isTTY?: boolean; write(text: string): boolean } = process.stderr,
  ) {}

  get enabled(): boolean {
    return this.terminal.isTTY === true;
  }

  update(change: { files?: number; rows?: number; bytes?: number }, force = false): void {
    this.files += change.files ?? 0;
    this.rows += change.rows ?? 0;
    this.bytes += change.bytes ?? 0;
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 250) return;
    this.lastDraw = now;
    this.terminal.write(`\r\x1b[2K${formatProgress(this.stream, this.files, this.totalFiles, this.rows, this.bytes, (now - this.started) / 1000)}`);
  }

  finish(): void {
    if (!this.enabled) return;
    this.update({}, true);
    this.terminal.write('\n');
  }
}

export function formatProgress(stream: string, files: number, totalFiles: number, rows: number, bytes: number, seconds: number): string {
  const rate = seconds > 0 ? rows / seconds : 0;
  return `${stream}: ${files}/${totalFiles} files, ${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB, ${Math.round(rate).toLocaleString('en-US')} rows/s`;
}
