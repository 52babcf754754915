import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, header, readBody } from './http';

/**
 * A local stand-in for Postmark's send API, so the real `postmark` ServerClient can be
 * pointed at it: `new ServerClient(serverToken, clientOptions)`.
 */

export type SendEndpoint = '/email' | '/email/withTemplate' | '/email/batch' | '/email/batchWithTemplates';

/** One message Postmark accepted (a batch records one per accepted message). */
export interface RecordedEmail {
  endpoint: SendEndpoint;
  /** The message as sent: From, To, Subject, TextBody… or TemplateId/TemplateAlias and TemplateModel. */
  body: Record<string, any>;
  /** Request headers, names lower-cased as Node gives them (`x-postmark-server-token`). */
  headers: Record<string, string>;
  messageId: string;
  submittedAt: string;
}

/** Every request that reached the server, answered or refused. */
export interface PostmarkRequest {
  method: string;
  path: string;
  status: number;
}

export interface FakePostmark {
  port: number;
  /** `127.0.0.1:PORT`, for the client's `requestHost`. */
  requestHost: string;
  serverToken: string;
  /** The options the real client needs to reach this server. */
  clientOptions: { useHttps: false; requestHost: string };
  sent: RecordedEmail[];
  requests: PostmarkRequest[];
  /** The next `n` send requests fail with `status` (500 unless told) and Postmark's `{ErrorCode, Message}`; nothing is sent. */
  failNext(n: number, status?: number, errorCode?: number): void;
  close(): Promise<void>;
}

interface PostmarkError {
  status: number;
  ErrorCode: number;
  Message: string;
}

const SEND_ENDPOINTS: readonly string[] = ['/email', '/email/withTemplate', '/email/batch', '/email/batchWithTemplates'];
const TEMPLATED: readonly string[] = ['/email/withTemplate', '/email/batchWithTemplates'];
const MAX_RECIPIENTS = 50;
const MAX_BATCH = 500;

export async function startFakePostmark(options: { serverToken?: string } = {}): Promise<FakePostmark> {
  const serverToken = options.serverToken ?? randomUUID();
  const sent: RecordedEmail[] = [];
  const requests: PostmarkRequest[] = [];
  const failures: Array<{ status: number; errorCode?: number }> = [];

  const answer = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', status });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, error: PostmarkError) =>
    answer(req, res, error.status, { ErrorCode: error.ErrorCode, Message: error.Message });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0];

    const token = header(req, 'x-postmark-server-token');
    if (!token) return refuse(req, res, { status: 401, ErrorCode: 10, Message: 'No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token.' });
    // Postmark treats the token's case as insignificant.
    if (token.toLowerCase() !== serverToken.toLowerCase()) return refuse(req, res, { status: 401, ErrorCode: 10, Message: 'The Server Token you provided in the X-Postmark-Server-Token request header was invalid. Please verify that you are using a valid token.' });

    if (req.method !== 'POST' || !SEND_ENDPOINTS.includes(path)) return refuse(req, res, { status: 404, ErrorCode: 0, Message: `This fake does not serve ${req.method} ${path}.` });
    const endpoint = path as SendEndpoint;
    if (!/application\/json/i.test(header(req, 'content-type') ?? '') || !/application\/json/i.test(header(req, 'accept') ?? '')) {
      return refuse(req, res, { status: 422, ErrorCode: 409, Message: 'Your HTTP request does not have the Accept and Content-Type headers set to application/json.' });
    }
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return refuse(req, res, { status: 422, ErrorCode: 402, Message: 'Received invalid JSON input.' });
    }

    const failure = failures.shift();
    if (failure) return refuse(req, res, injectedError(failure.status, failure.errorCode, body));

    const headers = flatHeaders(req);
    const accept = (message: Record<string, any>) => {
      const error = TEMPLATED.includes(endpoint) ? checkTemplated(message) : checkMessage(message);
      if (error) return { ErrorCode: error.ErrorCode, Message: error.Message, error };
      const email: RecordedEmail = { endpoint, body: message, headers, messageId: randomUUID(), submittedAt: new Date().toISOString() };
      sent.push(email);
      return { To: message.To, SubmittedAt: email.submittedAt, MessageID: email.messageId, ErrorCode: 0, Message: 'OK' };
    };

    if (endpoint === '/email' || endpoint === '/email/withTemplate') {
      if (!isObject(body)) return refuse(req, res, { status: 422, ErrorCode: 403, Message: 'Incompatible JSON: expected one message object.' });
      const { error, ...result } = accept(body);
      return error ? refuse(req, res, error) : answer(req, res, 200, result);
    }
    // A batch answers 200 with one result per message; a bad message fails alone.
    const messages = endpoint === '/email/batch' ? body : body?.Messages;
    if (!Array.isArray(messages) || !messages.every(isObject)) return refuse(req, res, { status: 422, ErrorCode: 403, Message: 'Incompatible JSON: expected an array of messages.' });
    if (messages.length > MAX_BATCH) return refuse(req, res, { status: 422, ErrorCode: 410, Message: `Too many batch messages: at most ${MAX_BATCH}.` });
    return answer(req, res, 200, messages.map((m) => {
      const { error: _error, ...result } = accept(m);
      return result;
    }));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) refuse(req, res, { status: 500, ErrorCode: 0, Message: `Fake Postmark failed: ${String(error)}` });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const requestHost = `127.0.0.1:${port}`;

  return {
    port,
    requestHost,
    serverToken,
    clientOptions: { useHttps: false, requestHost },
    sent,
    requests,
    failNext(n, status = 500, errorCode) {
      for (let i = 0; i < n; i++) failures.push({ status, errorCode });
    },
    close: () => closeServer(server),
  };
}

function checkMessage(message: Record<string, any>): PostmarkError | undefined {
  return checkAddresses(message) ?? (!message.TextBody && !message.HtmlBody ? invalid('Provide either email TextBody or HtmlBody or both.') : undefined);
}

function checkTemplated(message: Record<string, any>): PostmarkError | undefined {
  if (message.TemplateId === undefined && !message.TemplateAlias) return { status: 422, ErrorCode: 1101, Message: 'Template not found: send a TemplateId or a TemplateAlias.' };
  return checkAddresses(message);
}

function checkAddresses(message: Record<string, any>): PostmarkError | undefined {
  if (!message.From) return invalid("Invalid 'From' address: ''.");
  const recipients = ['To', 'Cc', 'Bcc'].flatMap((field) => addresses(message[field]));
  if (recipients.length === 0) return invalid('Zero recipients specified');
  if (recipients.length > MAX_RECIPIENTS) return invalid(`Too many recipients: at most ${MAX_RECIPIENTS}.`);
  const bad = recipients.find((address) => !/^[^@\s]+@[^@\s]+$/.test(address.replace(/^.*<(.*)>$/, '$1')));
  return bad ? invalid(`Error parsing 'To': Illegal email address '${bad}'. It must contain the '@' symbol.`) : undefined;
}

const invalid = (Message: string): PostmarkError => ({ status: 422, ErrorCode: 300, Message });

function addresses(field: unknown): string[] {
  return typeof field === 'string' ? field.split(',').map((a) => a.trim()).filter(Boolean) : [];
}

/** What Postmark says for the status asked for; 406 names the recipients, which the SDK parses. */
function injectedError(status: number, errorCode: number | undefined, body: any): PostmarkError {
  const code = errorCode ?? ({ 401: 10, 422: 300, 429: 429 } as Record<number, number>)[status] ?? 0;
  if (code === 406) {
    const to = addresses(isObject(body) ? body.To : undefined).join(', ');
    return { status, ErrorCode: code, Message: `You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: ${to}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression.` };
  }
  const messages: Record<number, string> = {
    401: 'The Server Token you provided in the X-Postmark-Server-Token request header was invalid. Please verify that you are using a valid token.',
    422: 'Invalid email request',
    429: 'Rate Limit Exceeded',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return { status, ErrorCode: code, Message: messages[status] ?? `Request failed with status ${status}` };
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value);

function flatHeaders(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
}

