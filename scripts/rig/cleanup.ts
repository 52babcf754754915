/** What a run started, undone when it ends early or skips its own cleanup. */
export interface Cleanup {
  /** Push a step after starting something; steps run last first. */
  undo: Array<() => void>;
  /** Runs the steps now, once each, going on past a step that throws. */
  undoAll(): void;
  /** Stops listening for exit and signals (the steps left are not run). */
  detach(): void;
}

/**
 * Undoes everything a run (Jest's global setup, a bench) started on exit, and on Ctrl-C
 * or kill before the signal does what it would have done: the steps must be synchronous,
 * as 'exit' and signal handlers cannot await.
 */
export function cleanupOnExit(): Cleanup {
  const undo: Array<() => void> = [];
  const undoAll = () => {
    while (undo.length) {
      try {
        undo.pop()!();
      } catch {
        // Keep undoing the rest.
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    detach();
    undoAll();
    process.kill(process.pid, signal);
  };
  const detach = () => {
    process.off('exit', undoAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.once('exit', undoAll);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { undo, undoAll, detach };
}
