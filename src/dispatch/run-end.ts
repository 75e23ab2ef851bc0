/** How a run ended, as the runner observed it. */
export type RunEnd =
  | { kind: 'exited'; exitCode: number; signal: string | null; endedAt: Date }
  | { kind: 'vanished' }
  | { kind: 'not-started'; question: string };

/** Which run a finish applies to: it is ignored when the record has moved on (another run, or already finished). */
export interface RunRef {
  runs: number;
  pid: number | undefined;
}

/** One run to finish: which run, and how it ended. */
export interface FinishItem {
  name: string;
  ref: RunRef;
  end: RunEnd;
}
