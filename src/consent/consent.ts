import { Body, Controller, Get, HttpCode, Inject, Injectable, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { consent, consentStream, smsKeyword, type ConsentChannel, type ConsentSource } from '../../domain/consent/consent';
import { requirePermission } from '../../domain/access/access';
import { membership, membershipStream } from '../../domain/membership/membership';
import type { Position } from '../../domain/shared/envelope';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { SecretBox } from '../../infra/crypto/sealing';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { ORGS, type OrgRow } from '../../projections/orgs';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { Settings } from '../config/config';
import { ProjectionRunner, readAfter } from '../readmodels/projection-runner';
import { OrgId, UserId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { POSITION } from '../shared/responses';
import { E164, MayOmit } from '../shared/validators';
import { CommandType } from '../messaging/command-type';

/** SPEC 5.4: one person's consent to one org's marketing, with its log. */
export interface PreferencesItem {
  orgId: string;
  orgName: string;
  emailMarketing: boolean;
  smsMarketing: boolean;
  log: Array<{ channel: ConsentChannel; subscribed: boolean; source: ConsentSource; at: string }>;
}

const UNSUBSCRIBE = 'unsubscribe';

/**
 * Consent per person and per org (R-PREF-1, SPEC 5.4): read from its own stream,
 * changed only by the person (their preferences page, an unsubscribe link, an SMS
 * keyword). Marketing senders read the same ConsentChanged events on Kafka.
 * Transactional mail ignores all of it (R-PREF-3).
 */
@Injectable()
export class Consents {
  constructor(
    private readonly streams: Streams,
    private readonly box: SecretBox,
    private readonly settings: Settings,
    private readonly runner: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async item(orgId: string, userId: string, orgName?: string): Promise<PreferencesItem> {
    const events = await this.streams.store.readStream(consentStream(orgId, userId));
    let state = consent.initialState();
    const log: PreferencesItem['log'] = [];
    for (const event of events) {
      if (event.type !== 'ConsentChanged') continue;
      state = consent.evolve(state, event);
      log.push({ channel: event.data.channel, subscribed: event.data.subscribed, source: event.data.source, at: event.recordedAt.toISOString() });
    }
    const name = orgName ?? (await this.readStore.getMany<OrgRow>(this.runner.collection(ORGS), [orgId])).get(orgId)?.name ?? '';
    return { orgId, orgName: name, ...state, log };
  }

  /** Sets one channel (only what changes is recorded), against the stream's version. */
  async set(orgId: string, userId: string, channel: ConsentChannel, subscribed: boolean, source: ConsentSource, meta: CommandMeta): Promise<Position> {
    const { position } = await this.streams.handle(consentStream(orgId, userId), consent, { type: 'SetConsent', orgId, userId, channel, subscribed, source }, { now: this.clock(), actor: meta.actor }, { ...meta, orgId });
    return position;
  }

  /** R-PREF-2: a link for one person and one org's marketing email, signed, with no expiry and no other use. */
  unsubscribeUrl(orgId: string, userId: string): string {
    const message = `${orgId}.${userId}`;
    return `${this.settings.publicUrl}/v1/unsubscribe?token=${message}.${this.box.sign(UNSUBSCRIBE, message)}`;
  }

  /** The org and person a token names, if Gatehouse signed it; a forged or altered one is refused. */
  openToken(token: string): { orgId: string; userId: string } {
    const [orgId, userId, signature, ...rest] = token.split('.');
    if (!orgId || !userId || !signature || rest.length > 0 || !this.box.verify(UNSUBSCRIBE, `${orgId}.${userId}`, signature)) {
      throw new DomainError('link_invalid', 'this unsubscribe link is not valid');
    }
    return { orgId, userId };
  }

  async isMember(orgId: string, userId: string): Promise<boolean> {
    return (await this.streams.load(membershipStream(orgId, userId), membership)).state.exists;
  }

  async membershipsOf(userId: string): Promise<MemberRow[]> {
    return this.readStore.find<MemberRow>({ collection: this.runner.collection(MEMBERS), where: { userId }, orderBy: [['orgId', 'asc'], ['id', 'asc']], limit: 1000 });
  }

  async membersWithPhone(orgId: string, phone: string): Promise<MemberRow[]> {
    return this.readStore.find<MemberRow>({ collection: this.runner.collection(MEMBERS), where: { orgId, phone }, orderBy: [['id', 'asc']], limit: 100 });
  }
}

export class PreferencesDto {
  @ApiProperty() @IsUUID()
  orgId!: string;

  @ApiPropertyOptional({ description: 'marketing email from this org (subscribed by default)' }) @MayOmit() @IsBoolean()
  emailMarketing?: boolean;

  @ApiPropertyOptional({ description: 'marketing SMS from this org (off until you opt in)' }) @MayOmit() @IsBoolean()
  smsMarketing?: boolean;
}

export class UnsubscribeQuery {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(300)
  token!: string;
}

export class InboundSmsDto {
  @ApiProperty({ example: '+14155550123' }) @Matches(E164, { message: 'from must be in E.164 form, e.g. +14155550123' })
  from!: string;

  @ApiProperty({ example: 'STOP' }) @IsString() @MaxLength(1600)
  body!: string;
}

// Answers (issue 18: the OpenAPI document a typed client is generated from).

export class ConsentLogEntryDto {
  @ApiProperty({ enum: ['email', 'sms'] }) channel!: string;
  @ApiProperty() subscribed!: boolean;
  @ApiProperty({ enum: ['preferences-page', 'unsubscribe-link', 'sms-stop', 'sms-start'] }) source!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

/** SPEC 5.4: one person's consent to one org's marketing, with its log. */
export class PreferencesItemDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() orgName!: string;
  @ApiProperty({ description: 'subscribed by default (opt-out)' }) emailMarketing!: boolean;
  @ApiProperty({ description: 'off until opted in' }) smsMarketing!: boolean;
  @ApiProperty({ type: [ConsentLogEntryDto] }) log!: ConsentLogEntryDto[];
}

export class PreferencesListDto {
  @ApiProperty({ type: [PreferencesItemDto] }) items!: PreferencesItemDto[];
}

export class PreferencesChangedDto extends PreferencesItemDto {
  @ApiPropertyOptional({ ...POSITION, description: 'absent when nothing was asked to change' }) position?: string;
}

export class MemberPreferencesDto extends PreferencesItemDto {
  @ApiProperty({ format: 'uri', description: "R-PREF-2: the signed unsubscribe link for the org's marketing sender" }) unsubscribeUrl!: string;
}

export class UnsubscribePreviewDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() orgName!: string;
  @ApiProperty({ enum: ['email'] }) channel!: string;
  @ApiProperty({ description: 'subscribed now' }) emailMarketing!: boolean;
  @ApiProperty({ description: 'what POST does' }) action!: string;
}

export class UnsubscribedDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty({ enum: [false] }) emailMarketing!: boolean;
  @ApiProperty(POSITION) position!: string;
}

export class InboundSmsResultDto {
  @ApiProperty({ enum: ['none', 'start', 'stop'], description: 'none: not a keyword' }) action!: string;
  @ApiProperty({ type: 'integer', description: 'members of the org with that phone number' }) matched!: number;
  @ApiPropertyOptional({ ...POSITION, description: 'absent when nothing changed' }) position?: string;
}

/** R-PREF-1: the signed-in person's consent, per org they belong to; only they change it. */
@ApiTags('me')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/me/preferences')
export class MyPreferencesController {
  constructor(private readonly consents: Consents, private readonly runner: ProjectionRunner, @Inject(READ_STORE) private readonly readStore: ReadStore) {}

  @Get()
  @ApiOperation({ operationId: 'listMyPreferences', summary: 'My marketing consent, per org I belong to (SPEC 5.4)' })
  @ApiOkResponse({ type: PreferencesListDto })
  async list(@Req() request: GatehouseRequest): Promise<{ items: PreferencesItem[] }> {
    if (request.actor?.kind !== 'user') throw new NotFound('user');
    await readAfter(request, this.runner);
    const rows = await this.consents.membershipsOf(request.actor.id);
    const orgs = await this.readStore.getMany<OrgRow>(this.runner.collection(ORGS), rows.map((r) => r.orgId));
    return { items: await Promise.all(rows.map((r) => this.consents.item(r.orgId, request.actor!.id, orgs.get(r.orgId)?.name ?? ''))) };
  }

  @Put()
  @ApiOperation({ operationId: 'updateMyPreferences', summary: 'Change my marketing consent for one org (source: preferences-page)' })
  @ApiOkResponse({ type: PreferencesChangedDto })
  @CommandType('me.preferences.update')
  async update(@Body() body: PreferencesDto, @Req() request: GatehouseRequest, @Meta() meta: CommandMeta) {
    if (request.actor?.kind !== 'user') throw new NotFound('user');
    const userId = request.actor.id;
    if (!(await this.consents.isMember(body.orgId, userId))) throw new NotFound('organization');
    let position: Position | undefined;
    if (body.emailMarketing !== undefined) position = await this.consents.set(body.orgId, userId, 'email', body.emailMarketing, 'preferences-page', meta);
    if (body.smsMarketing !== undefined) position = await this.consents.set(body.orgId, userId, 'sms', body.smsMarketing, 'preferences-page', meta);
    return { ...(await this.consents.item(body.orgId, userId)), ...(position !== undefined ? { position } : {}) };
  }
}

/** R-PREF-4: staff with users.update.any see a member's consent, read-only, with the link their marketing sender puts in its emails. */
@ApiTags('members')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/members/:user/preferences')
export class MemberPreferencesController {
  constructor(private readonly consents: Consents, private readonly orgAccess: OrgAccess) {}

  @Get()
  @ApiOperation({ operationId: 'getMemberPreferences', summary: "A member's marketing consent, read-only, with the unsubscribe link (R-PREF-4)" })
  @ApiOkResponse({ type: MemberPreferencesDto })
  async show(@OrgId() orgId: string, @UserId() userId: string, @Req() request: GatehouseRequest) {
    const { context } = await this.orgAccess.context(orgId, request.actor!);
    requirePermission(context.access, 'users.update.any', context);
    if (!(await this.consents.isMember(orgId, userId))) throw new NotFound('member');
    return { ...(await this.consents.item(orgId, userId, context.org.name)), unsubscribeUrl: this.consents.unsubscribeUrl(orgId, userId) };
  }
}

/** R-PREF-2: the unsubscribe link, with no sign-in: GET shows what it does, POST does it (idempotent). */
@ApiTags('public')
@Controller('v1/unsubscribe')
export class UnsubscribeController {
  constructor(private readonly consents: Consents) {}

  @Get()
  @ApiOperation({ operationId: 'previewUnsubscribe', summary: 'What the unsubscribe link will do (no sign-in)' })
  @ApiOkResponse({ type: UnsubscribePreviewDto })
  @ApiResponse({ status: 400, description: 'link_invalid, validation_failed' })
  async preview(@Query() query: UnsubscribeQuery) {
    const { orgId, userId } = this.consents.openToken(query.token);
    const item = await this.consents.item(orgId, userId);
    return { orgId, orgName: item.orgName, channel: 'email', emailMarketing: item.emailMarketing, action: 'unsubscribe from this organization’s marketing email' };
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({ operationId: 'unsubscribe', summary: "Unsubscribe from the org's marketing email, idempotently (R-PREF-2)" })
  @ApiOkResponse({ type: UnsubscribedDto })
  @CommandType('unsubscribe', { query: ['token'] })
  async unsubscribe(@Query() query: UnsubscribeQuery, @Meta() meta: CommandMeta) {
    const { orgId, userId } = this.consents.openToken(query.token);
    // The person follows their own link: their events name them.
    const position = await this.consents.set(orgId, userId, 'email', false, 'unsubscribe-link', { ...meta, actor: { kind: 'user', id: userId } });
    return { orgId, emailMarketing: false, position };
  }
}

/** SPEC 5.4: the SMS gateway (a service key with users.update.any) forwards what people text back; carriers' keywords change SMS consent. */
@ApiTags('members')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/sms/inbound')
export class InboundSmsController {
  constructor(private readonly consents: Consents, private readonly orgAccess: OrgAccess) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ operationId: 'receiveInboundSms', summary: "The SMS gateway forwards a text: carriers' keywords change SMS consent (SPEC 5.4)" })
  @ApiOkResponse({ type: InboundSmsResultDto })
  @CommandType('orgs.sms.inbound')
  async inbound(@OrgId() orgId: string, @Body() body: InboundSmsDto, @Req() request: GatehouseRequest, @Meta('org') meta: CommandMeta) {
    const { context } = await this.orgAccess.context(orgId, request.actor!);
    requirePermission(context.access, 'users.update.any', context);
    const keyword = smsKeyword(body.body);
    if (!keyword) return { action: 'none', matched: 0 };
    const members = await this.consents.membersWithPhone(orgId, body.from);
    let position: Position | undefined;
    for (const member of members) position = await this.consents.set(orgId, member.userId, 'sms', keyword.subscribed, keyword.source, meta);
    return { action: keyword.subscribed ? 'start' : 'stop', matched: members.length, ...(position !== undefined ? { position } : {}) };
  }
}

export const CONSENT_CONTROLLERS = [MyPreferencesController, MemberPreferencesController, UnsubscribeController, InboundSmsController];
