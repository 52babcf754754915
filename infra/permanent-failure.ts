/**
 * A failure no retry can fix (the other side refused the request itself: a 4xx
 * that is not a rate limit): the consumer sends it to the dead letters at once.
 */
export class PermanentFailure extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly code?: string | number,
  ) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

/** 4xx except 408 (timeout) and 429 (rate limit) will fail the same way every time. */
export function isPermanentStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}
