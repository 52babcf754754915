import { ApiProperty } from '@nestjs/swagger';

/** The answers many commands share, for the OpenAPI document (issue 18). */

export const POSITION = { description: 'global position of the last event (R-LIST-5), as a decimal string; also in the Gatehouse-Position header', pattern: '^[0-9]+$', example: '1042' };

/** A command's answer (SPEC 3.1): the position to read one's own write at. */
export class PositionDto {
  @ApiProperty(POSITION) position!: string;
}

/** A membership command: `changed: false` when the member already was so (idempotent, no event). */
export class MembershipChangeDto extends PositionDto {
  @ApiProperty({ description: 'false: nothing to change, no event recorded' }) changed!: boolean;
}

/** A public request that answers the same whether or not the email has an account (R-SEC-3). */
export class AcceptedDto {
  @ApiProperty({ enum: ['accepted'] }) status!: 'accepted';
}

/** Who did something: a person, a service key, Gatehouse itself. */
export class ActorDto {
  @ApiProperty({ enum: ['user', 'service', 'system', 'anonymous'] }) kind!: string;
  @ApiProperty() id!: string;
}

/** `nextCursor` of SPEC 3.1's `{items, nextCursor}`: pass it as `?cursor=` for the next page; null on the last. */
export const NEXT_CURSOR = { type: String, nullable: true, description: 'the next page: pass as ?cursor=; null on the last page' } as const;
