import { AppendSignal } from '../../infra/eventstore/catch-up-subscription';

describe('AppendSignal (what wakes live subscriptions)', () => {
  it('wakes every waiter on one notify, not only some of them', async () => {
    const signal = new AppendSignal();
    const woken: number[] = [];
    const started = Date.now();
    const waits = Array.from({ length: 5 }, (_, i) => signal.wait(signal.sequence, 10_000).then(() => woken.push(i)));
    signal.notify();
    await Promise.all(waits);
    expect(woken.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('returns at once when something was appended since the caller looked', async () => {
    const signal = new AppendSignal();
    const seen = signal.sequence;
    signal.notify();
    const started = Date.now();
    await signal.wait(seen, 10_000);
    expect(Date.now() - started).toBeLessThan(100);
  });
});
