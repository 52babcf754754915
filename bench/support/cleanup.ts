/**
 * Everything a bench starts is undone here, also on Ctrl-C, a failure or the
 * watchdog: push an undo step after starting something; `undoAll` runs them in
 * reverse order, once each, and keeps going past a step that throws.
 */
export function cleanupOnExit(): { undo: Array<() => void>; undoAll: () => void } {
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
  process.once('exit', undoAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      undoAll();
      process.exit(130);
    });
  }
  return { undo, undoAll };
}
