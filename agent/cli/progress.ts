// Progress for humans: a redrawn bar on a terminal, a plain line per 10% otherwise (logs, serial
// consoles and CI keep readable output); both with the rate over the last seconds and an ETA.
import type { CliIO } from './io.ts';
import { monotonicMs } from '../lib/monotonic.ts';

export interface ProgressPrinter {
  progress(done: number, total: number): void;
  /** A line of its own (ends a bar that is showing). */
  line(text: string): void;
  /** Before something else writes to the terminal (stderr): ends a bar that is showing. */
  interrupt(): void;
  done(): void;
}

const MiB = 1 << 20;
/** The rate is measured over this much recent time, so a stall shows as a falling rate. */
const WINDOW_MS = 10_000;

export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= MiB) return `${(bytesPerSecond / MiB).toFixed(1)} MiB/s`;
  return `${Math.round(bytesPerSecond / 1024)} KiB/s`;
}

export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One rate sample per this much time: the window holds ~50 whatever the block count (65,536 4 KiB blocks per 256 MiB). */
const SAMPLE_MS = 200;
/** A terminal bar is redrawn at most this often. */
const REDRAW_MS = 100;

export function progressPrinter(io: CliIO, now: () => number = monotonicMs): ProgressPrinter {
  let barShown = false;
  let lastTenth = -1;
  let lastDrawAt = -Infinity;
  const samples: Array<[number, number]> = [];
  const endBar = () => {
    if (barShown) io.out.write('\n');
    barShown = false;
  };
  // Called for every block: constant work per call. Before, every call kept a sample and filtered
  // them all, and a bar was redrawn per block: a 256 MiB format-2 install spent 30 s of CPU here.
  const sample = (t: number, done: number) => {
    const last = samples[samples.length - 1];
    if (last && t - last[0] < SAMPLE_MS) return;
    samples.push([t, done]);
    while (samples.length > 1 && t - samples[0]![0] > WINDOW_MS) samples.shift();
  };
  /** "at 1.2 MiB/s, ETA 0:42" once two samples a moment apart exist. */
  const speed = (t: number, done: number, total: number): string => {
    const [t0, d0] = samples[0]!;
    if (t - t0 < 250 || done <= d0) return done >= total ? '' : ', ETA unknown';
    const rate = ((done - d0) * 1000) / (t - t0);
    return `, ${formatRate(rate)}${done < total ? `, ETA ${formatEta((total - done) / rate)}` : ''}`;
  };
  const text = (t: number, done: number, total: number) => `${(done / MiB).toFixed(1)}/${(total / MiB).toFixed(1)} MiB${speed(t, done, total)}`;
  return {
    progress(done, total) {
      const t = now();
      sample(t, done);
      const frac = total === 0 ? 1 : done / total;
      if (io.isTTY) {
        if (t - lastDrawAt < REDRAW_MS && done < total) return;
        lastDrawAt = t;
        const width = 30;
        const fill = Math.round(frac * width);
        io.out.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${text(t, done, total)}\x1b[K`);
        barShown = true;
        return;
      }
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.out.write(`written ${tenth * 10}% ${text(t, done, total)}\n`);
      }
    },
    line(text) {
      endBar();
      io.out.write(text + '\n');
    },
    interrupt: endBar,
    done: endBar,
  };
}
