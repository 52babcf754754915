/**
 * The console's one way to the API: the bearer token of the session, and the
 * position of the last write sent back as Gatehouse-Min-Position on every read,
 * so a list never shows the state from before the person's own action (R-LIST-5).
 */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

const TOKEN = 'gatehouse.token';
let lastPosition = '0';

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN);
  },
  set(token: string | null): void {
    if (token) sessionStorage.setItem(TOKEN, token);
    else sessionStorage.removeItem(TOKEN);
  },
};

function remember(body: unknown): void {
  const position = typeof body === 'object' && body !== null ? (body as { position?: unknown }).position : undefined;
  if (typeof position === 'string' && /^\d+$/.test(position) && BigInt(position) > BigInt(lastPosition)) lastPosition = position;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'GET' && lastPosition !== '0') headers['gatehouse-min-position'] = lastPosition;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = (parsed ?? {}) as Partial<ApiError>;
    throw { status: response.status, code: error.code ?? `http_${response.status}`, message: error.message ?? response.statusText, details: error.details } satisfies ApiError;
  }
  remember(parsed);
  return parsed as T;
}

export const isApiError = (value: unknown): value is ApiError => typeof value === 'object' && value !== null && 'code' in value && 'status' in value;

/** A message fit to show: the API's own, with its stable code. */
export const explain = (error: unknown): string => (isApiError(error) ? `${error.message} (${error.code})` : String(error));

export interface SignedIn {
  token: string;
  userId: string;
  position: string;
  mustChangePassword?: boolean;
}
export interface MfaRequired {
  mfaRequired: true;
  challenge: string;
  expiresAt: string;
}
export interface Me {
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  memberships: Array<{ orgId: string; orgName?: string; role: string; status: string; approval: string }>;
}
export interface Member {
  userId: string;
  shortId: string;
  firstName: string;
  lastName: string;
  email: string;
  roleId: string;
  status: 'active' | 'disabled';
  approval: 'approved' | 'pending';
  banned: boolean;
  lastSignInAt: string;
  joinedAt: string;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface Role {
  id: string;
  name: string;
  color?: string;
  active?: boolean;
}
export interface Hit {
  userId: string;
  firstName: string;
  lastName: string;
  email: string;
  roleId: string;
  status: string;
}
