import { DomainError } from '../../domain/shared/errors';
import { checkPasswordStrength, personalWords, type PasswordOwner } from '../../domain/user/password-policy';
import { user, type UserEvent } from '../../domain/user/user';
import { commonPasswords } from '../../infra/crypto/common-passwords';
import { ctx, given, NOW } from '../support/given';

const bob = { userId: 'u-bob', email: 'bob.builder@example.com', firstName: 'Bob', lastName: 'Builder' };
const registered: UserEvent = { type: 'UserRegistered', data: bob };
const withPassword: UserEvent = { type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'old-hash', mustChange: false, by: 'self' } };
const at = NOW.toISOString();

describe('user decider: setting a password', () => {
  it('R-CRED-4 R-CRED-5 a password set by an admin ends every session of the person', () =>
    given(user, registered, withPassword)
      .when({ type: 'SetPassword', passwordHash: 'new-hash', by: 'admin', mustChange: true }, ctx('u-admin'))
      .then([
        { type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'new-hash', mustChange: true, by: 'admin' } },
        { type: 'SessionsRevoked', data: { userId: 'u-bob', at, reason: 'password set by an admin' } },
      ]));

  it('R-CRED-4 a reset through a link ends every session but the one the link starts', () =>
    given(user, registered, withPassword)
      .when({ type: 'SetPassword', passwordHash: 'new-hash', link: 'password-reset', keepSessionId: 's-new' }, ctx('u-bob'))
      .then([
        { type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'new-hash', mustChange: false, by: 'self' } },
        { type: 'SessionsRevoked', data: { userId: 'u-bob', at, reason: 'password reset', keepSessionId: 's-new' } },
      ]));

  it('R-CRT-1 a first setup through a link ends nothing; R-CRT-4 followed once a password exists, it is a reset', () => {
    given(user, registered)
      .when({ type: 'SetPassword', passwordHash: 'new-hash', link: 'setup', keepSessionId: 's-new' }, ctx('u-bob'))
      .then([{ type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'new-hash', mustChange: false, by: 'setup' } }]);
    given(user, registered, withPassword)
      .when({ type: 'SetPassword', passwordHash: 'new-hash', link: 'setup', keepSessionId: 's-new' }, ctx('u-bob'))
      .then([
        { type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'new-hash', mustChange: false, by: 'setup' } },
        { type: 'SessionsRevoked', data: { userId: 'u-bob', at, reason: 'password reset', keepSessionId: 's-new' } },
      ]);
  });

  it('R-CRED-5 one\'s own change (with the current password) keeps one\'s sessions', () =>
    given(user, registered, withPassword)
      .when({ type: 'SetPassword', passwordHash: 'new-hash', by: 'self', mustChange: false }, ctx('u-bob'))
      .then([{ type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'new-hash', mustChange: false, by: 'self' } }]));

  it('R-CRT-1 a new account gets its first password with its registration, and no revocation', () =>
    given(user)
      .when({ type: 'RegisterUser', ...bob, password: { hash: 'first-hash', mustChange: true, by: 'admin' } }, ctx('u-admin'))
      .then([registered, { type: 'PasswordSet', data: { userId: 'u-bob', passwordHash: 'first-hash', mustChange: true, by: 'admin' } }]));

  it('no account, no password', () => given(user).when({ type: 'SetPassword', passwordHash: 'h', by: 'admin', mustChange: false }, ctx()).thenFails('not_found'));
});

describe('user decider: turning MFA on', () => {
  const started: UserEvent = { type: 'MfaEnrollmentStarted', data: { userId: 'u-bob', sealedSecret: 'sealed' } };

  it('R-CRED-8 a code the edge could not verify turns nothing on; nor does any code before enrollment started', () => {
    given(user, registered, started).when({ type: 'ConfirmMfa', step: undefined, backupCodeHashes: ['b1'] }, ctx('u-bob')).thenFails('invalid_mfa_code');
    given(user, registered).when({ type: 'ConfirmMfa', step: 7, backupCodeHashes: ['b1'] }, ctx('u-bob')).thenFails('mfa_not_started');
    given(user, registered, started).when({ type: 'ConfirmMfa', step: 7, backupCodeHashes: ['b1'] }, ctx('u-bob')).then([{ type: 'MfaEnabled', data: { userId: 'u-bob', backupCodeHashes: ['b1'], step: 7 } }]);
  });
});

describe('user decider: the second step of a sign-in', () => {
  const started: UserEvent = { type: 'MfaEnrollmentStarted', data: { userId: 'u-bob', sealedSecret: 'sealed' } };
  const enabled: UserEvent = { type: 'MfaEnabled', data: { userId: 'u-bob', backupCodeHashes: ['b1', 'b2'], step: 7 } };
  const attempt = { method: 'password+mfa', ip: '203.0.113.9', userAgent: 'test', sessionId: 's1' };
  const signedIn: UserEvent = { type: 'SignedIn', data: { userId: 'u-bob', ...attempt } };

  it('R-CRED-8 a TOTP code of a later step is spent and the sign-in recorded, in one decision', () => {
    given(user, registered, started, enabled)
      .when({ type: 'SignInWithSecondFactor', proof: { step: 8 }, ...attempt }, ctx('u-bob'))
      .then([{ type: 'MfaCodeUsed', data: { userId: 'u-bob', step: 8 } }, signedIn]);
  });

  it('R-CRED-8 a TOTP code works once: its step again, or an earlier one, is refused', () => {
    given(user, registered, started, enabled).when({ type: 'SignInWithSecondFactor', proof: { step: 7 }, ...attempt }, ctx('u-bob')).thenFails('mfa_code_used');
    given(user, registered, started, enabled, { type: 'MfaCodeUsed', data: { userId: 'u-bob', step: 9 } })
      .when({ type: 'SignInWithSecondFactor', proof: { step: 8 }, ...attempt }, ctx('u-bob'))
      .thenFails('mfa_code_used');
  });

  it('R-CRED-8 a backup code is spent once; an unknown one, or a code that matched no step, signs nobody in', () => {
    given(user, registered, started, enabled)
      .when({ type: 'SignInWithSecondFactor', proof: { codeHash: 'b2' }, ...attempt }, ctx('u-bob'))
      .then([{ type: 'BackupCodeUsed', data: { userId: 'u-bob', codeHash: 'b2' } }, signedIn]);
    given(user, registered, started, enabled, { type: 'BackupCodeUsed', data: { userId: 'u-bob', codeHash: 'b2' } })
      .when({ type: 'SignInWithSecondFactor', proof: { codeHash: 'b2' }, ...attempt }, ctx('u-bob'))
      .thenFails('invalid_mfa_code');
    given(user, registered, started, enabled).when({ type: 'SignInWithSecondFactor', proof: undefined, ...attempt }, ctx('u-bob')).thenFails('invalid_mfa_code');
  });
});

describe('R-CRED-1 password strength', () => {
  const person: PasswordOwner = { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace', username: 'countess' };
  const small = new Set(['password', 'password123', 'sunshine']);
  const ruleOf = (password: string, common: ReadonlySet<string> = small, current?: string) => {
    try {
      checkPasswordStrength(password, person, common, current);
      return 'ok';
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('weak_password');
      return (error as DomainError).details?.rule;
    }
  };

  it('length and variety', () => {
    expect(ruleOf('short')).toBe('too_short');
    expect(ruleOf('x'.repeat(129))).toBe('too_long');
    expect(ruleOf('abababababab')).toBe('too_repetitive');
    expect(ruleOf('a long passphrase 7')).toBe('ok');
  });

  it('a password on the common list is refused, as is or dressed in digits and symbols', () => {
    expect(ruleOf('password123')).toBe('too_common');
    expect(ruleOf('Password123!')).toBe('too_common');
    expect(ruleOf('!!Sunshine2024')).toBe('too_common');
    expect(ruleOf('sunshine on the hill')).toBe('ok');
  });

  it('the person\'s own words are refused: names, username, the email and its pieces', () => {
    expect(personalWords(person)).toEqual(['ada.lovelace', 'lovelace', 'countess']);
    expect(ruleOf('my name is lovelace')).toBe('personal');
    expect(ruleOf('the COUNTESS of maths')).toBe('personal');
    expect(ruleOf('ada likes engines')).toBe('ok'); // "ada" is too short to be telling
  });

  it('R-CRED-5 a new password differs from the current one', () => {
    expect(ruleOf('a long passphrase 7', small, 'a long passphrase 7')).toBe('unchanged');
    expect(ruleOf('a long passphrase 8', small, 'a long passphrase 7')).toBe('ok');
  });

  it('the shipped common-password list holds at least 10 000 passwords, and the rules use it', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    expect(['123456', 'password', 'qwerty', 'iloveyou', 'trustno1'].every((p) => list.has(p))).toBe(true);
    for (const weak of ['password123!', 'qwertyuiop', '1234567890', 'Iloveyou2024', 'trustno1trustno1']) expect(ruleOf(weak, list)).toBe('too_common');
    for (const fine of ['a long passphrase 7', 'correct horse battery staple', 'fresh phrase 10 ok']) expect(ruleOf(fine, list)).toBe('ok');
  });
});
