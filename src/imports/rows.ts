import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse } from 'csv-parse';
import secureJson from 'secure-json-parse';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { DomainError } from '../../domain/shared/errors';
import { CreateMemberDto } from '../membership/dto';
import { fieldDetails } from '../shared/api-error';

/** SPEC 5.6: the columns (CSV) or keys (NDJSON) of a row; a single create's fields without mode and password. */
export const IMPORT_COLUMNS = ['email', 'firstName', 'lastName', 'role', 'phone', 'username', 'locations'] as const;
export const MAX_ROWS = 100_000;
/** 100 000 rows of a few hundred bytes each, with room to spare; a body is counted as it streams in. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export type ImportFormat = 'csv' | 'ndjson';

/** A row as it came in: its number (from 1, the header not counted) and its fields, or why it could not be read. */
export interface SourceRow {
  row: number;
  fields?: Record<string, unknown>;
  unreadable?: { code: 'validation_failed' | 'malformed_json'; message: string };
}

/** The fields of a row that passed the create-member checks. */
export interface ValidRow {
  email: string;
  firstName: string;
  lastName?: string;
  role?: string;
  phone?: string;
  username?: string;
  locations?: string[];
}

export function formatOf(contentType: string | undefined): ImportFormat | undefined {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (media === 'text/csv') return 'csv';
  if (media === 'application/x-ndjson' || media === 'application/jsonl') return 'ndjson';
  return undefined;
}

/** Counts the body's bytes as they pass, refusing a body over MAX_BODY_BYTES. */
async function* limited(body: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) throw new DomainError('body_too_large', `an import body is at most ${MAX_BODY_BYTES} bytes`, { maxBytes: MAX_BODY_BYTES });
    yield chunk;
  }
}

/** The rows of a CSV or NDJSON body, one at a time: the body is never held whole. */
export function readRows(body: Readable | AsyncIterable<Buffer | string>, format: ImportFormat): AsyncGenerator<SourceRow> {
  return format === 'csv' ? csvRows(body) : ndjsonRows(body);
}

async function* csvRows(body: AsyncIterable<Buffer | string>): AsyncGenerator<SourceRow> {
  let header: string[] = [];
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    columns: (names: string[]) => {
      header = names;
      const unknown = names.filter((n) => !(IMPORT_COLUMNS as readonly string[]).includes(n));
      if (unknown.length > 0 || !names.includes('email')) {
        throw new DomainError('validation_failed', `the header row names the columns ${IMPORT_COLUMNS.join(', ')} (email required)`, {
          fields: [{ field: 'header', problems: [...unknown.map((n) => `unknown column ${n}`), ...(names.includes('email') ? [] : ['no email column'])] }],
        });
      }
      return names;
    },
  });
  const input = Readable.from(limited(body));
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let row = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { invalid_field_length: number } }>) {
      row++;
      if (info.invalid_field_length > 0) {
        yield { row, unreadable: { code: 'validation_failed', message: `the row does not have the header's ${header.length} columns` } };
        continue;
      }
      yield { row, fields: fromCsv(record) };
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('validation_failed', `the body is not CSV that can be read: ${(error as Error).message}`, { fields: [{ field: 'body', problems: [(error as Error).message] }] });
  } finally {
    input.destroy();
  }
}

/** CSV has only text: an empty cell is an absent field, and locations are separated by `;`. */
function fromCsv(record: Record<string, string>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === '') continue;
    fields[key] = key === 'locations' ? value.split(';').map((l) => l.trim()).filter(Boolean) : value;
  }
  return fields;
}

async function* ndjsonRows(body: AsyncIterable<Buffer | string>): AsyncGenerator<SourceRow> {
  const lines = createInterface({ input: readableOf(limited(body)), crlfDelay: Infinity });
  let row = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    row++;
    let value: unknown;
    try {
      value = secureJson.parse(line, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      yield { row, unreadable: { code: 'malformed_json', message: 'the line is not valid JSON' } };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { row, unreadable: { code: 'validation_failed', message: 'each line must be a JSON object' } };
      continue;
    }
    yield { row, fields: value as Record<string, unknown> };
  }
}

function readableOf(chunks: AsyncIterable<Buffer | string>): Readable {
  return Readable.from(chunks);
}

/**
 * R-CRT-5: a row is checked exactly as POST /v1/orgs/{org}/members checks its body: the same DTO, the same
 * validation options as the app's ValidationPipe (unknown fields refused), the same `validation_failed`.
 */
export function checkRow(fields: Record<string, unknown>): { valid: ValidRow } | { code: string; message: string } {
  // The import's mode is the job's: a row names no mode, password or anything else a single create would not take from it.
  const unknown = Object.keys(fields).filter((k) => !(IMPORT_COLUMNS as readonly string[]).includes(k));
  if (unknown.length > 0) return { code: 'validation_failed', message: unknown.map((k) => `${k}: property ${k} should not exist`).join('; ') };
  const dto = plainToInstance(CreateMemberDto, { ...fields, mode: 'setup-email' });
  // CreateMemberDto has no asynchronous constraint: the synchronous run checks the same, without a promise per row.
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const problems = fieldDetails(errors).map(({ field, problems: p }) => `${field}: ${p.join(', ')}`);
    return { code: 'validation_failed', message: problems.join('; ') };
  }
  const { email, firstName, lastName, role, phone, username, locations } = dto;
  return { valid: { email, firstName, ...(lastName !== undefined ? { lastName } : {}), ...(role !== undefined ? { role } : {}), ...(phone !== undefined ? { phone } : {}), ...(username !== undefined ? { username } : {}), ...(locations !== undefined ? { locations } : {}) } };
}
