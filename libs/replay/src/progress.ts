/** Where the bar goes: a terminal stream (process.stderr), or anything with the same shape. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /** `--json`: the bar stays silent whatever the stream. */
  readonly json?: boolean;
  readonly label?: string;
  /** Clock in ms; performance.now by default. */
  readonly now?: () => number;
  /** Least time between two redraws (ms), 100 by default. */
  readonly minIntervalMs?: number;
}

/** `12.3k` */
function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** `1:05`, `1:02:03` */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * One line redrawn in place: `replay [=====     ] 1234/5000 24% 12.3k ops/s ETA 0:07`. It writes
 * only when the stream is a terminal and JSON output was not asked for, so logs and pipes never
 * see carriage returns.
 */
export class ProgressBar {
  readonly active: boolean;
  private readonly now: () => number;
  private readonly start: number;
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly options: ProgressOptions = {},
  ) {
    this.active = stream.isTTY === true && options.json !== true;
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** The line for `done` of `total` at this moment (no terminal control characters). */
  line(done: number, total: number): string {
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.NaN;
    const stats = `${done}/${total} ${Math.floor(frac * 100)}% ${compact(rate)} ops/s ETA ${formatDuration(eta)}`;
    const label = this.options.label ?? 'replay';
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - label.length - stats.length - 5));
    const filled = Math.round(frac * width);
    return `${label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${stats}`;
  }

  update(done: number, total: number): void {
    if (!this.active) return;
    const t = this.now();
    if (t - this.last < (this.options.minIntervalMs ?? 100) && done < total) return;
    this.last = t;
    this.stream.write(`\r${this.line(done, total)}\x1b[K`);
    this.drawn = true;
  }

  /** Erase the bar (the report follows on a clean line). */
  finish(): void {
    if (this.active && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
