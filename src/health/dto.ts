import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** /health's answers (issue 18: the OpenAPI document a typed client is generated from). */

export class LiveDto {
  @ApiProperty({ enum: ['ok'] }) status!: string;
}

export class StoreCheckDto {
  @ApiProperty({ enum: ['up', 'down'] }) status!: string;
  @ApiProperty({ example: 'sqlite' }) adapter!: string;
  @ApiPropertyOptional({ description: 'why it is down' }) reason?: string;
}

export class StoreChecksDto {
  @ApiProperty({ type: StoreCheckDto }) eventStore!: StoreCheckDto;
  @ApiProperty({ type: StoreCheckDto }) readStore!: StoreCheckDto;
}

const REPORT = { type: 'object', additionalProperties: true } as const;

export class HealthDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'behind', 'unavailable'], description: 'degraded: a projection skipped events it cannot apply (still ready); behind: a worker is stopped or lagging (503); unavailable: a store does not answer (503)' }) status!: string;
  @ApiProperty({ type: StoreChecksDto }) checks!: StoreChecksDto;
  @ApiProperty({ type: 'array', items: REPORT, description: 'every background worker: state, position, lagSeconds, lagEvents, ready, restarts' }) workers!: object[];
  @ApiProperty({ type: 'array', items: REPORT, description: 'every projection: position, lag, skipped events' }) projections!: object[];
  @ApiProperty({ type: 'array', items: REPORT, description: 'every consumer: source, position, failures, behind' }) consumers!: object[];
  @ApiProperty({ ...REPORT, description: 'the Kafka publisher: enabled, state, position, published, behind' }) kafka!: object;
}
