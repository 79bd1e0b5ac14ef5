import type { BenchData } from './bench-data';
import type { Baseline, MemoryPhase } from './types';

/** Samples RSS on a timer and whenever asked, keeping the peak above the starting value. */
export class RssSampler {
  private readonly start: number;
  private peak: number;
  private count = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.start = process.memoryUsage.rss();
    this.peak = this.start;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    this.count++;
    if (rss > this.peak) this.peak = rss;
  }

  /** Stops sampling; returns the peak growth over the starting RSS and how many samples were taken. */
  stop(): { growth: number; samples: number } {
    this.sample();
    clearInterval(this.timer);
    return { growth: this.peak - this.start, samples: this.count };
  }
}

export interface StreamMemoryOptions {
  key: string;
  size: number;
  intervalMs: number;
  /** Subtract the streamed bytes before checking (the target keeps them in this process). */
  contentInProcess: boolean;
  gc?: () => void;
}

function settle(gc?: () => void): void {
  // Two passes: the first may only promote what the second frees.
  gc?.();
  gc?.();
}

/** Runs `phase` under a fresh sampler (after a GC when available); the sampler stops even if it throws. */
async function measurePhase(
  intervalMs: number,
  gc: (() => void) | undefined,
  phase: (sample: () => void) => Promise<void>,
): Promise<{ growth: number; samples: number; durationMs: number }> {
  settle(gc);
  const sampler = new RssSampler(intervalMs);
  const started = performance.now();
  let stats: { growth: number; samples: number };
  try {
    await phase(() => sampler.sample());
  } finally {
    stats = sampler.stop();
  }
  return { ...stats, durationMs: performance.now() - started };
}

/**
 * Streams `size` bytes through `target`'s streamWrite and back through streamRead, measuring the
 * peak RSS growth of each phase against the RSS just before it. The content comes from views of
 * the data pool, which is resident before the phase starts, so it adds nothing.
 */
export async function measureStreamMemory(target: Baseline, data: BenchData, options: StreamMemoryOptions): Promise<{ write: MemoryPhase; read: MemoryPhase }> {
  const stored = options.contentInProcess ? options.size : 0;

  const writeStats = await measurePhase(options.intervalMs, options.gc, async (sample) => {
    function* sampledChunks(): Generator<Buffer> {
      for (const chunk of data.chunks(options.size)) {
        sample();
        yield chunk;
      }
    }
    await target.streamWrite(options.key, sampledChunks());
  });

  let readBytes = 0;
  const readStats = await measurePhase(options.intervalMs, options.gc, async (sample) => {
    for await (const chunk of await target.streamRead(options.key)) {
      readBytes += (chunk as Uint8Array).byteLength;
      sample();
    }
  });
  if (readBytes !== options.size) throw new Error(`memory check ${options.key}: read ${readBytes} bytes, expected ${options.size}`);

  return {
    write: {
      peakRssGrowth: writeStats.growth,
      checkedGrowth: Math.max(0, writeStats.growth - stored),
      durationMs: writeStats.durationMs,
      samples: writeStats.samples,
    },
    // The stored content is already resident before the read phase: nothing to subtract.
    read: { peakRssGrowth: readStats.growth, checkedGrowth: readStats.growth, durationMs: readStats.durationMs, samples: readStats.samples },
  };
}
