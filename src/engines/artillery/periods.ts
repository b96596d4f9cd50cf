// Artillery's 10-second console summaries, read live. Artillery writes its --output report only when the last phase
// completes (2.0.34, lib/cmds/run.ts: on SIGINT it shuts down without writing it), so these summaries are the only
// figures of a run that is still going, and of one an abort guard stopped. Each block is turned back into the
// shape of an intermediate period of Artillery's JSON report, so the same reader (src/readers/artillery-v2)
// turns it into intervals, and the periods of a stopped run can be written out as a report of their own.
//
//   --------------------------------------
//   Metrics for period to: 04:24:50(+0000) (width: 2.808s)
//   --------------------------------------
//   http.codes.200: ................................................................ 10
//   http.response_time:
//     min: ......................................................................... 2
//     p99: ......................................................................... 3

/** One period as Artillery's JSON report has it: counters, summaries and epoch-ms times. */
export interface ConsolePeriod {
  counters: Record<string, number>;
  summaries: Record<string, Record<string, number>>;
  /** Start of the period's 10-second slot, as Artillery's own `period` field. */
  period: number;
  firstMetricAt: number;
  lastMetricAt: number;
}

const HEADER = /^Metrics for period to: (\d{2}):(\d{2}):(\d{2})\(([+-])(\d{2})(\d{2})\) \(width: ([\d.]+)s\)/;
// Names may hold spaces and colons (`vusers.created_by_name.Place a bid`, an error message): the dot leader ends them.
const COUNTER = /^(\S.*?): \.{2,} (-?[\d.]+)(\/sec)?$/;
const SUMMARY_HEAD = /^(\S.*):$/;
const SUMMARY_VALUE = /^ {2}(\w+): \.+ (-?[\d.]+)$/;
/** Artillery's reporting period, to which its period ends are aligned. */
const SLOT_MS = 10_000;

/**
 * Reads console lines as they arrive and returns each period once its block is complete: when the next line that
 * is not part of it arrives, or on flush() (the engine flushes shortly after the last line, so a guard sees a
 * period without waiting ten seconds for the next one).
 */
export class ConsolePeriodReader {
  private open:
    | {
        endAt: number;
        widthMs: number;
        counters: Record<string, number>;
        summaries: Record<string, Record<string, number>>;
      }
    | undefined;
  private summary: string | undefined;

  /** `now`: the wall clock when the line arrived, to put the printed time of day on the right date. */
  push(line: string, now = Date.now()): ConsolePeriod | undefined {
    const text = line.replace(/\s+$/, '');
    const header = HEADER.exec(text);
    if (header) {
      const done = this.flush();
      const [, hh, mm, ss, sign, oh, om, width] = header;
      const offsetMs = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
      this.open = {
        endAt: nearestTimeOfDay(now, Number(hh), Number(mm), Number(ss), offsetMs),
        widthMs: Math.round(Number(width) * 1000),
        counters: {},
        summaries: {},
      };
      return done;
    }
    if (!this.open) return undefined;
    if (/^-+$/.test(text) || text === '') return undefined;
    const value = SUMMARY_VALUE.exec(text);
    if (value && this.summary) {
      this.open.summaries[this.summary]![value[1]!] = Number(value[2]);
      return undefined;
    }
    const head = SUMMARY_HEAD.exec(text);
    if (head) {
      this.summary = head[1]!;
      this.open.summaries[this.summary] = {};
      return undefined;
    }
    const counter = COUNTER.exec(text);
    if (counter) {
      this.summary = undefined;
      // Rates (`http.request_rate: 10/sec`) are per second, not counts; the reader derives its own.
      if (!counter[3]) this.open.counters[counter[1]!] = Number(counter[2]);
      return undefined;
    }
    // Anything else (a phase message, the summary report, a script's console.log) ends the block.
    return this.flush();
  }

  /** The period being read, if it has any figures; nothing is returned twice. */
  flush(): ConsolePeriod | undefined {
    const o = this.open;
    this.open = undefined;
    this.summary = undefined;
    if (!o || (Object.keys(o.counters).length === 0 && Object.keys(o.summaries).length === 0)) return undefined;
    // The console prints no sample count for a summary: the number of responses is what response times count.
    const responses = o.counters['http.responses'];
    for (const [name, s] of Object.entries(o.summaries)) {
      if (s.count === undefined && name === 'http.response_time' && responses !== undefined) s.count = responses;
    }
    return {
      counters: o.counters,
      summaries: o.summaries,
      period: Math.ceil(o.endAt / SLOT_MS) * SLOT_MS - SLOT_MS,
      firstMetricAt: o.endAt - o.widthMs,
      lastMetricAt: o.endAt,
    };
  }
}

/** The epoch ms of a printed time of day (with its UTC offset) nearest to `now`: the line was printed just now. */
function nearestTimeOfDay(now: number, h: number, m: number, s: number, offsetMs: number): number {
  const day = 86_400_000;
  const msOfDay = ((h * 60 + m) * 60 + s) * 1000 - offsetMs;
  const base = Math.floor(now / day) * day + msOfDay;
  return [base - day, base, base + day].reduce((best, t) => (Math.abs(t - now) < Math.abs(best - now) ? t : best));
}

/** The periods of a run as an Artillery 2 report document, for the same reader as a real report. */
export function consoleReport(periods: readonly ConsolePeriod[]): {
  aggregate: Record<string, unknown>;
  intermediate: ConsolePeriod[];
} {
  const counters: Record<string, number> = {};
  for (const p of periods) for (const [k, v] of Object.entries(p.counters)) counters[k] = (counters[k] ?? 0) + v;
  // Percentiles of different periods cannot be combined into the run's: the aggregate keeps only what can
  // (count, min, max), so the report shows the run's percentiles as missing rather than invented.
  const summaries: Record<string, Record<string, number>> = {};
  for (const p of periods) {
    for (const [name, s] of Object.entries(p.summaries)) {
      const a = (summaries[name] ??= {});
      if (s.count !== undefined) a.count = (a.count ?? 0) + s.count;
      if (s.min !== undefined) a.min = Math.min(a.min ?? Infinity, s.min);
      if (s.max !== undefined) a.max = Math.max(a.max ?? -Infinity, s.max);
    }
  }
  return {
    aggregate: {
      counters,
      summaries,
      firstMetricAt: Math.min(...periods.map((p) => p.firstMetricAt)),
      lastMetricAt: Math.max(...periods.map((p) => p.lastMetricAt)),
    },
    intermediate: [...periods],
  };
}
