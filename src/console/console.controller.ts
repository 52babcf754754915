import { Controller, Get, Param, Query, Res, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { DomainError, NotFound } from '../../domain/shared/errors';

/** The paths of the links Gatehouse emails (src/messaging/emails.ts): each lands on the console's page for it. */
export const LINK_PAGES = ['invitations/accept', 'setup', 'reset-password', 'sign-in'] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * The pages carry link tokens in their URL: no referrer leaves them, nothing loads from
 * elsewhere, no other site frames them. The bundle has no inline script or style.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** The built console (dist/console), found from this file whether it runs from dist/ (npm start) or from the sources (tests). */
export function consoleDir(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/** Every file of the build, read once: only these exact paths are served, so no request can reach another file. */
function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(join(root, 'index.html'))) return assets;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else assets.set(relative(root, file).split(sep).join('/'), { body: readFileSync(file), type: TYPES[extname(name)] ?? 'application/octet-stream' });
    }
  };
  walk(root);
  return assets;
}

/**
 * Issue 18: the admin console at /console/, and the pages behind every emailed link
 * (accept an invitation, set up or reset a password, redeem a sign-in link), from
 * the same `npm start`. Built by `npm run build` (Vite, src/console/web).
 */
@ApiExcludeController()
@Controller()
export class ConsoleController implements OnModuleInit {
  private readonly assets = loadAssets(consoleDir());

  constructor(private readonly adapter: HttpAdapterHost) {}

  /**
   * R-PREF-2: the unsubscribe link (`GET /v1/unsubscribe?token=`) is one URL for two readers: a
   * person's browser (asking for HTML) gets the page that shows what it will do and does it on
   * a click; an API client gets the JSON preview as documented.
   */
  onModuleInit(): void {
    this.adapter.httpAdapter.getInstance<FastifyInstance>().addHook('onRequest', async (request, reply) => {
      if (request.method !== 'GET' || !request.url.startsWith('/v1/unsubscribe?') || !(request.headers.accept ?? '').includes('text/html')) return;
      if (!this.assets.has('index.html')) return; // not built: the API answers as usual
      return this.page(reply);
    });
  }

  @Get('console')
  index(@Res() reply: FastifyReply) {
    return this.page(reply);
  }

  @Get('console/*')
  asset(@Param('*') name: string, @Res() reply: FastifyReply) {
    const asset = this.assets.get(name);
    // A console route the browser reloads (no file of that name) is the console's page too.
    if (!asset || name === 'index.html') return name.startsWith('assets/') ? this.missing() : this.page(reply);
    return reply.header('content-type', asset.type).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').send(asset.body);
  }

  @Get(LINK_PAGES.map(String))
  link(@Query('token') _token: string | undefined, @Res() reply: FastifyReply) {
    return this.page(reply);
  }

  private page(reply: FastifyReply) {
    const index = this.assets.get('index.html');
    if (!index) throw new DomainError('console_not_built', 'the console is not built: run npm run build (npm start does)');
    return reply.headers({ ...PAGE_HEADERS, 'content-type': index.type, 'cache-control': 'no-store' }).send(index.body);
  }

  private missing(): never {
    throw new NotFound('console file');
  }
}
