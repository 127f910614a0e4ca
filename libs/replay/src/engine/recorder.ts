import type { BoundaryFigures } from '../ports';

/** Latencies of one method of one boundary. */
class MethodStats {
  calls = 0;
  items = 0;
  readonly latencies: number[] = [];
}

/** The nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Counts the calls that cross a boundary, the items they carry (the length of the first array
 * argument, else 1) and their latency. Wall-clock figures go to the report only; nothing the
 * engine decides depends on them.
 */
export class BoundaryRecorder {
  private readonly stats = new Map<string, MethodStats>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The same port, every method measured under `boundary`. */
  wrap<T extends object>(boundary: string, port: T): T {
    const wrapped = {} as Record<string, unknown>;
    let proto: object | null = port;
    const names = new Set<string>();
    while (proto && proto !== Object.prototype) {
      for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
      proto = Object.getPrototypeOf(proto) as object | null;
    }
    for (const name of names) {
      const fn = (port as Record<string, unknown>)[name];
      if (typeof fn !== 'function') continue;
      wrapped[name] = async (...args: unknown[]) => {
        const start = this.now();
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>).apply(port, args);
        } finally {
          const arr = args.find((a) => Array.isArray(a)) as unknown[] | undefined;
          this.record(boundary, name, arr ? arr.length : 1, this.now() - start);
        }
      };
    }
    return wrapped as T;
  }

  record(boundary: string, method: string, items: number, ms: number): void {
    const key = `${boundary}\u0000${method}`;
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = new MethodStats()));
    s.calls++;
    s.items += items;
    s.latencies.push(ms);
  }

  /** Per boundary and method, sorted by boundary then method. */
  figures(): BoundaryFigures[] {
    return [...this.stats.entries()]
      .map(([key, s]) => {
        const [boundary, method] = key.split('\u0000');
        const sorted = [...s.latencies].sort((a, b) => a - b);
        return {
          boundary,
          method,
          calls: s.calls,
          items: s.items,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
        };
      })
      .sort((a, b) => a.boundary.localeCompare(b.boundary) || a.method.localeCompare(b.method));
  }
}
