import { useState } from 'react';
import { explain } from './api';

/**
 * How a view runs the person's actions: the last error to show (the API's message and
 * code), cleared when the next action starts, and `done` after each success (to read
 * again, at the write's position).
 */
export function useWrites(done: () => void = () => undefined) {
  const [error, setError] = useState('');
  const run = async (write: () => Promise<unknown>): Promise<boolean> => {
    setError('');
    try {
      await write();
      done();
      return true;
    } catch (e) {
      setError(explain(e));
      return false;
    }
  };
  return { error, setError, run };
}

/** An error of the API, said where the person looks. */
export function Problem({ error }: { error: string }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}
