import { Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { FastifyInstance } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { requirePermission } from '../../domain/access/access';
import { NotFound } from '../../domain/shared/errors';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { apiError } from '../shared/api-error';
import { OrgId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { MayOmit } from '../shared/validators';
import { ImportAcceptedDto, ImportJobReportDto } from './dto';
import { ImportJobs } from './import-jobs';
import { IMPORT_MODES, type ImportJob, type ImportMode } from './import-store';
import { formatOf, MAX_BODY_BYTES, readRows, type ImportFormat } from './rows';

export class ImportQueryDto {
  @ApiPropertyOptional({ enum: IMPORT_MODES, description: 'what each new person gets: a setup email (default), an invitation, or nothing' })
  @MayOmit() @IsIn(IMPORT_MODES)
  mode?: ImportMode;
}

/** An import body, left unread until the handler has checked who asks: it is read row by row, never whole. */
interface ImportBody {
  stream: Readable;
  format: ImportFormat;
  /** Where a body sent with an Idempotency-Key was kept while it was hashed (removed once answered). */
  spooled?: string;
  /** What the idempotency check compares (SPEC 3.1): the format and a hash of every byte of the body. */
  toJSON(): unknown;
}

/**
 * A body sent with an Idempotency-Key is read once before the handler, to a private temporary file,
 * hashing it as it passes: the key's first use is then bound to this exact body, and a retry with
 * another body is refused (`idempotency_key_reused`) like every other POST's. Memory stays flat.
 */
async function spool(payload: Readable, format: ImportFormat): Promise<ImportBody> {
  const file = join(tmpdir(), `gatehouse-import-${randomUUID()}`);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      payload,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          if (bytes > MAX_BODY_BYTES) throw apiError('body_too_large', `an import body is at most ${MAX_BODY_BYTES} bytes`, { maxBytes: MAX_BODY_BYTES });
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file, { mode: 0o600 }),
    );
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  const sha256 = hash.digest('hex');
  return { stream: createReadStream(file), format, spooled: file, toJSON: () => ({ import: format, sha256 }) };
}

const IMPORTS_ROUTE = '/v1/orgs/:org/imports';

@ApiTags('imports')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/imports')
export class ImportsController implements OnModuleInit {
  constructor(
    private readonly jobs: ImportJobs,
    private readonly orgAccess: OrgAccess,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** text/csv and NDJSON bodies reach this route only, as a stream: every other route reads JSON alone. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // the CLI has no HTTP server
    fastify.addContentTypeParser(['text/csv', 'application/x-ndjson'], (request, payload, done) => {
      if (request.method !== 'POST' || request.routeOptions.url !== IMPORTS_ROUTE) {
        return done(apiError('unsupported_media_type', 'this endpoint reads JSON bodies only'), undefined);
      }
      const format = formatOf(request.headers['content-type'])!;
      if (request.headers['idempotency-key'] !== undefined) {
        spool(payload as Readable, format).then((body) => done(null, body), (error: Error) => done(error, undefined));
        return;
      }
      const body: ImportBody = { stream: payload as Readable, format, toJSON: () => ({ import: format }) };
      done(null, body);
    });
    // The kept copy goes once the request is answered: read by the job's acceptance, or never (a replayed or refused retry).
    const removeSpooled = async (request: { body?: unknown }) => {
      const body = request.body as ImportBody | undefined;
      if (!body || typeof body !== 'object' || !('spooled' in body) || !body.spooled) return;
      body.stream.destroy();
      await rm(body.spooled, { force: true }).catch(() => undefined);
    };
    fastify.addHook('onResponse', removeSpooled);
    fastify.addHook('onRequestAbort', removeSpooled);
  }

  @Post()
  @HttpCode(202)
  @ApiOperation({ operationId: 'startImport', summary: 'SPEC 5.6 (R-CRT-5): import up to 100 000 members from CSV (header row) or NDJSON; answers {jobId}' })
  @ApiAcceptedResponse({ type: ImportAcceptedDto })
  @ApiConsumes('text/csv', 'application/x-ndjson')
  @ApiBody({ schema: { type: 'string', example: 'email,firstName,lastName,role,phone,username,locations\ngrace@example.com,Grace,Hopper,member,,,' } })
  async start(@OrgId() orgId: string, @Query() query: ImportQueryDto, @Req() request: GatehouseRequest, @Meta('org') meta: CommandMeta) {
    const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
    // As a single create asks (R-CRT-1); each row is decided again when the job runs.
    requirePermission(context.access, 'users.create.any', context);
    const body = request.body as ImportBody | undefined;
    if (!body || typeof body !== 'object' || !('stream' in body)) {
      throw apiError('unsupported_media_type', 'an import body is text/csv (with a header row) or application/x-ndjson');
    }
    const job = await this.jobs.accept(orgId, query.mode ?? 'setup-email', readRows(body.stream, body.format), meta);
    void this.jobs.run(job.id);
    return { jobId: job.id };
  }

  @Get(':job')
  @ApiOperation({ operationId: 'getImport', summary: 'SPEC 5.6: the job, its progress and its per-row report' })
  @ApiOkResponse({ type: ImportJobReportDto })
  async show(@OrgId() orgId: string, @Param('job') jobId: string, @Req() request: GatehouseRequest) {
    const { context } = await this.orgAccess.context(orgId, request.actor!, request.realActor);
    requirePermission(context.access, 'users.create.any', context);
    const job = /^[0-9a-f-]{36}$/.test(jobId) ? await this.jobs.job(jobId) : undefined;
    if (!job || job.orgId !== orgId) throw new NotFound('import');
    return { ...reportOf(job), errors: await this.jobs.errors(jobId) };
  }
}

export function reportOf(job: ImportJob) {
  const { id, status, total, processed, created, addedExisting, failed, startedAt, finishedAt } = job;
  return { jobId: id, status, total, processed, created, addedExisting, failed, startedAt: startedAt ?? null, finishedAt: finishedAt ?? null };
}
