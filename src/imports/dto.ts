import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The bulk import's answers (SPEC 5.6; issue 18: the OpenAPI document a typed client is generated from). */

export class ImportAcceptedDto {
  @ApiProperty({ format: 'uuid' }) jobId!: string;
}

/** A row refused, with the code a single create would have answered. */
export class ImportRowErrorDto {
  @ApiProperty({ type: 'integer', description: 'the row’s number, counting rows of people from 1 (a CSV header is not counted)' }) row!: number;
  @ApiPropertyOptional() email?: string;
  @ApiProperty({ example: 'email_taken' }) code!: string;
  @ApiProperty() message!: string;
}

export class ImportJobReportDto {
  @ApiProperty({ format: 'uuid' }) jobId!: string;
  @ApiProperty({ enum: ['queued', 'running', 'done', 'failed'] }) status!: string;
  @ApiProperty({ type: 'integer' }) total!: number;
  @ApiProperty({ type: 'integer' }) processed!: number;
  @ApiProperty({ type: 'integer' }) created!: number;
  @ApiProperty({ type: 'integer' }) addedExisting!: number;
  @ApiProperty({ type: 'integer' }) failed!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: [ImportRowErrorDto] }) errors!: ImportRowErrorDto[];
}
