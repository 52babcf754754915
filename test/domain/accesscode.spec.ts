import { accessCodeProblem, accessCodeReservation } from '../../domain/accesscode/accesscode';
import { ctx, given } from '../support/given';

describe('access codes', () => {
  it('R-CODE-2 exactly 6 digits', () => {
    for (const bad of ['12345', '1234567', '12a456', ' 48021', '']) expect(accessCodeProblem(bad)).toBe('accesscode_format');
    expect(accessCodeProblem('480215')).toBeUndefined();
  });

  it('R-CODE-2 no runs up or down, wherever they start', () => {
    for (const run of ['123456', '654321', '234567', '345678', '456789', '987654', '012345', '543210']) expect(accessCodeProblem(run)).toBe('accesscode_sequential');
    expect(accessCodeProblem('123457')).toBeUndefined();
  });

  it('R-CODE-2 not one digit repeated', () => {
    for (const d of '0123456789') expect(accessCodeProblem(d.repeat(6))).toBe('accesscode_repeated');
    expect(accessCodeProblem('111112')).toBeUndefined();
  });

  it('R-CODE-1 a code belongs to one member of the org', () => {
    const reserved = { type: 'AccessCodeReserved' as const, data: { orgId: 'o1', code: '480215', userId: 'u1' } };
    given(accessCodeReservation).when({ type: 'Reserve', orgId: 'o1', code: '480215', userId: 'u1' }, ctx()).then([reserved]);
    given(accessCodeReservation, reserved).when({ type: 'Reserve', orgId: 'o1', code: '480215', userId: 'u2' }, ctx()).thenFails('accesscode_taken');
  });
});
