/**
 * The ceiling of bench/http.ts: Gatehouse's stack with nothing of Gatehouse in it. NestJS 11 on
 * Fastify with the app's ValidationPipe options, and either
 *   'append':  PUT /bare/:id with a validated body, one row appended to SQLite
 *              (WAL, synchronous=FULL: a durable commit per request),
 *   'grouped': the same PUT, the rows of the requests that arrive together appended in one
 *              transaction (group commit, as Gatehouse's SQLite store does), or
 *   'page':    GET /bare?cursor=…, a 20-row page by (name, id) cursor from a 2 000-row table.
 * Run as its own process (argv[2] is the mode, argv[3] the data dir); it tells the parent its port over IPC.
 */
import 'reflect-metadata';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Body, Controller, Get, HttpCode, Module, Param, Put, Query, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

const mode = (['page', 'grouped'] as const).find((m) => m === process.argv[2]) ?? 'append';
const db = new Database(path.join(process.argv[3] ?? '.', `ceiling-${mode}.sqlite`));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)');
db.exec('CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL)');
db.exec('CREATE INDEX IF NOT EXISTS rows_name ON rows (name, id)');
const append = db.prepare('INSERT INTO events (stream, type, data) VALUES (?, ?, ?)');
const first = db.prepare('SELECT * FROM rows ORDER BY name, id LIMIT 21');
const after = db.prepare('SELECT * FROM rows WHERE (name, id) > (?, ?) ORDER BY name, id LIMIT 21');
if (mode === 'page' && (db.prepare('SELECT count(*) AS n FROM rows').get() as { n: number }).n === 0) {
  const insert = db.prepare('INSERT INTO rows VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 2_000; i++) insert.run(`u${String(i).padStart(5, '0')}`, `name ${(i * 7919) % 2_000}`, `m${i}@example.org`, 'member');
  })();
}

class RoleBody {
  @IsString() @IsNotEmpty() @MaxLength(64)
  role!: string;
}

class PageQuery {
  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}

/** Rows waiting for the next commit, and whom to answer once it is durable. */
let pending: Array<{ id: string; role: string; done: (position: number) => void }> = [];
const appendAll = db.transaction((rows: typeof pending) => rows.map((r) => Number(append.run(`membership-${r.id}`, 'RoleChanged', JSON.stringify({ memberId: r.id, roleId: r.role })).lastInsertRowid)));

function appendGrouped(id: string, role: string): Promise<number> {
  return new Promise((done) => {
    if (pending.length === 0)
      setImmediate(() => {
        const rows = pending;
        pending = [];
        appendAll(rows).forEach((position, i) => rows[i].done(position));
      });
    pending.push({ id, role, done });
  });
}

interface Row {
  id: string;
  name: string;
}

@Controller('bare')
class BareController {
  @Put(':id')
  @HttpCode(200)
  async put(@Param('id') id: string, @Body() body: RoleBody) {
    if (mode === 'grouped') return { position: String(await appendGrouped(id, body.role)) };
    const { lastInsertRowid } = append.run(`membership-${id}`, 'RoleChanged', JSON.stringify({ memberId: id, roleId: body.role }));
    return { position: String(lastInsertRowid) };
  }

  @Get()
  page(@Query() query: PageQuery) {
    const rows = (query.cursor ? after.all(...(JSON.parse(Buffer.from(query.cursor, 'base64url').toString()) as [string, string])) : first.all()) as Row[];
    const items = rows.slice(0, 20);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > 20 ? Buffer.from(JSON.stringify([last.name, last.id])).toString('base64url') : null };
  }
}

@Module({ controllers: [BareController] })
class CeilingModule {}

async function main() {
  const app = await NestFactory.create<NestFastifyApplication>(CeilingModule, new FastifyAdapter(), { logger: false });
  // The app's own options (src/app.module.ts), minus its error shape.
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.send!({ type: 'ready', port: address.port });
  process.on('disconnect', () => {
    void app.close().then(() => {
      db.close();
      process.exit(0);
    });
  });
}

void main();
